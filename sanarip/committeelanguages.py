"""A committee's languages (what its sittings are expected to use) and its own models per language."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from sanarip.config import ConfigError, ctc_folder_problem, parse_language_models
from sanarip.errors import SanaripError
from sanarip.langid import parse_languages
from sanarip.models import Committee


def set_languages(c: Committee, languages: str) -> None:
    """``"ky,ru,en"`` (validated; ``default`` restores ky, ru, en)."""
    if languages == "default":
        c.languages = None
        return
    try:
        c.languages = ",".join(parse_languages(languages))
    except ValueError as exc:
        raise SanaripError(f"--languages: {exc}") from None


def set_language_models(s: Session, c: Committee, pairs: tuple[str, ...]) -> dict[str, str]:
    """Apply ``lang=PATH`` pairs (``lang=none`` removes one); a broken folder is refused here, in one line."""
    models = dict(c.language_models or {})
    for pair in pairs:
        lang, _, folder = pair.partition("=")
        if folder.strip() == "none":
            models.pop(lang.strip(), None)
            continue
        try:
            parsed = parse_language_models(pair, "--language-model")
        except ConfigError as exc:
            raise SanaripError(str(exc)) from None
        models.update({k: str(v.resolve()) for k, v in parsed.items()})
    c.language_models = models or None
    s.flush()
    return models


def folder_problems(models: dict[str, str]) -> list[str]:
    """One line per configured folder that no longer has a model's files (moved, deleted)."""
    return [f"{lang}={path}: {problem}" for lang, path in models.items()
            if (problem := ctc_folder_problem(Path(path)))]
