"""``models check``: every configured model per language, whether it loads, and a one-second timing."""

from __future__ import annotations

import time
from pathlib import Path

import click

from cli.common import ready_runtime
from sanarip.errors import SanaripError


@click.group()
def models() -> None:
    """ASR models: Whisper for most languages, CTC models per language (SANARIP_LANGUAGE_MODELS)."""


def _time_one_second(run) -> str:
    import numpy as np

    start = time.perf_counter()
    run(np.zeros(16000, np.float32))
    return f"{time.perf_counter() - start:.3f} s on 1 s of silence"


@models.command("check")
def models_check() -> None:
    """Print the models per language, whether each loads, and its time on one second of silence."""
    from sanarip.catalog import list_committees
    from transcribe.ctc import CtcModelError, load_ctc_uncached
    from transcribe.models import ModelError, load_model

    rt = ready_runtime()
    settings = rt.settings
    rows: list[tuple[str, str, str]] = [("*", settings.model, "SANARIP_MODEL (Whisper)")]
    rows += [(lang, str(path), "SANARIP_LANGUAGE_MODELS") for lang, path in settings.language_model_paths.items()]
    with rt.db.session(readonly=True) as s:
        for c in list_committees(s):
            rows += [(lang, path, f"committee {c.slug}") for lang, path in (c.language_models or {}).items()]
            if c.model:
                rows.append(("*", c.model, f"committee {c.slug} (Whisper)"))
    if not any(lang == "ky" for lang, _, _ in rows):
        rows.append(("ky", "-", "none configured: Kyrgyz passages go to the clerks' queue"))
    failed = 0
    for lang, where, source in rows:
        if where == "-":
            click.echo(f"{lang:<3} {where}  ({source})")
            continue
        try:
            if lang == "*":
                whisper = load_model(where, settings.data_dir / "models", settings.device)
                timing = _time_one_second(whisper.detect_language) + " (one encoder pass)"
            else:
                ctc = load_ctc_uncached(Path(where), settings.device)
                timing = _time_one_second(ctc.run)
            click.echo(f"{lang:<3} {where}  ({source})  loads: yes  {timing}")
        except (ModelError, CtcModelError, SanaripError) as exc:
            failed += 1
            click.echo(f"{lang:<3} {where}  ({source})  loads: NO  {exc}")
    if failed:
        raise SanaripError(f"{failed} model(s) do not load")


COMMANDS = [models]
