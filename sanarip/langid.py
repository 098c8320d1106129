"""Text language identification: which of a committee's languages a segment's text is written in.

Whisper labels audio, and has no Kyrgyz token, so every segment is labelled again from its
*text* after ASR and after each clerk edit. ``py3langid`` (a naive Bayes model over byte
n-grams, shipped inside the package: no download, about a second to load, then microseconds per
call; loaded once per process, so the web process may call it) ranks only the committee's
languages. Letters decide first where they can: ә ғ қ ұ һ і are written in Kazakh, not in
Kyrgyz; ң ө ү are written in both (and in no language Sanarip meets besides Turkic ones).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from typing import Any

DEFAULT_LANGUAGES = ("ky", "ru", "en")  # the Jogorku Kenesh's working languages
KAZAKH_ONLY = re.compile(r"[әғқұһі]", re.IGNORECASE)
KYRGYZ_OR_KAZAKH = re.compile(r"[ңөү]", re.IGNORECASE)
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
MIN_LETTERS = 3  # fewer letters than this say nothing about a language
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")

_base: Any = None
_restricted: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


def parse_languages(text: str | None) -> tuple[str, ...]:
    """``"ky, ru,en"`` → ``("ky", "ru", "en")``; empty → the default. Raises ValueError on a bad code."""
    codes = tuple(c.strip().lower() for c in (text or "").split(",") if c.strip())
    for code in codes:
        if not LANGUAGE_CODE.match(code):
            raise ValueError(f"not a language code: {code!r} (two or three letters, e.g. ky, ru, en)")
    return codes or DEFAULT_LANGUAGES


def _model(languages: tuple[str, ...]) -> Any:
    """The identifier restricted to ``languages`` (the model is loaded once; each subset is a view of it)."""
    global _base
    with _lock:
        if languages not in _restricted:
            if _base is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _base = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            known = [c for c in languages if c in _base.labels]
            subset = copy.copy(_base)
            subset.set_languages(known or None)
            _restricted[languages] = subset
        return _restricted[languages]


def identify(text: str, languages: Iterable[str] = DEFAULT_LANGUAGES) -> tuple[str | None, float]:
    """(language, probability) of ``text`` among ``languages``; (None, 0.0) for text too short to tell."""
    allowed = tuple(dict.fromkeys(languages))
    if len(LETTER.findall(text)) < MIN_LETTERS or not allowed:
        return None, 0.0
    if KAZAKH_ONLY.search(text):
        if "kk" in allowed:
            return "kk", 1.0
        if "ky" in allowed:  # Whisper's Kazakh-like spelling of Kyrgyz speech: the nearest allowed language
            return "ky", 1.0
    if KYRGYZ_OR_KAZAKH.search(text):
        turkic = [c for c in ("ky", "kk") if c in allowed]
        if len(turkic) == 1 or (turkic and not KAZAKH_ONLY.search(text)):
            return turkic[0], 1.0
    if len(allowed) == 1:
        return allowed[0], 1.0
    lang, prob = _model(allowed).classify(text)
    return str(lang), round(float(prob), 3)


def label(text: str, languages: Iterable[str], fallback: str | None) -> str | None:
    """The language to store for a segment's text: the identifier's answer, else ``fallback``."""
    lang, _prob = identify(text, languages)
    return lang or fallback


def label_segments(segments: Iterable[Any], languages: Iterable[str]) -> None:
    """Label each segment (``.text``, ``.language``) from its text; segments without text keep theirs."""
    allowed = tuple(languages)
    for seg in segments:
        if seg.text.strip():
            seg.language = label(seg.text, allowed, seg.language)


def committee_languages(committee: Any) -> tuple[str, ...]:
    """The languages a committee's sittings use (``Committee.languages``, default ky, ru, en)."""
    return parse_languages(getattr(committee, "languages", None))
