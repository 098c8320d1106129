"""``transcribe``: a sitting by id (through the pipeline) or a media file (no database)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from cli.common import progress_bar, ready_runtime, run_chain, runtime
from sanarip.errors import SanaripError
from sanarip.pipeline import JobKind


@click.command()
@click.argument("target")
@click.option("--model", help="tiny.en, base, small, or a CTranslate2 folder (default: SANARIP_MODEL).")
@click.option("--language", default="auto", show_default=True,
              help="auto, a Whisper code (ru, en, kk …), or ky when a Kyrgyz model is configured.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write here; the extension picks the format: .json .vtt .srt .txt .xml (Akoma Ntoso) .rttm.")
@click.option("--no-diarize", is_flag=True, help="Skip speaker turns (a FILE only; a sitting runs the whole pipeline).")
def transcribe(target: str, model: str | None, language: str, output: str | None, no_diarize: bool) -> None:
    """Transcribe a sitting (by id) or a media FILE (no database needed)."""
    from sanarip.stenogram import EXPORTERS, export
    from transcribe.languages import check_transcription_language

    check_transcription_language(language)  # before any database or model: one line naming the options
    fmt = "txt"
    if output:
        fmt = Path(output).suffix.lower().lstrip(".")
        if fmt not in EXPORTERS:
            raise click.BadParameter(f"unknown extension .{fmt}; use one of .{', .'.join(EXPORTERS)}",
                                     param_hint="--output")
    if target.isdigit():
        stenogram = _transcribe_sitting(int(target), model, language)
    else:
        stenogram = _transcribe_file(Path(target), model, language, diarize=not no_diarize)
    text = export(stenogram, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _transcribe_file(path: Path, model: str | None, language: str, diarize: bool = True):
    """The final pass's own path (PCM file, spans, batches), without a database."""
    from sanarip.langid import DEFAULT_LANGUAGES, label_segments
    from sanarip.stenogram import Stenogram
    from transcribe.audio import decoded
    from transcribe.engine import Options, plan, transcribe_audio
    from transcribe.models import batch_size, load_language_models, load_model, needs_whisper

    if not path.is_file():
        raise SanaripError(f"no such file: {path} (give a sitting id or a media file)")
    settings = runtime().settings
    with ExitStack() as stack:
        try:  # before the model loads: a file that is not media fails at once
            audio = stack.enter_context(decoded(str(path)))
        except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds
            raise SanaripError(f"{path}: not readable media ({exc})") from None
        ctc = load_language_models(settings.language_model_paths, settings.device)
        whisper = (load_model(model or settings.model, settings.effective_model_cache, settings.device)
                   if needs_whisper(language, ctc) else None)
        options = Options(language=language, batch_size=batch_size(settings.batch_size, settings.device),
                          kyrgyz=True, ctc=ctc)
        spans = plan(whisper, audio, options)
        with progress_bar(f"transcribe {path.name}") as on_progress:
            segments = transcribe_audio(whisper, audio, options, spans,
                                        on_span=lambda i, sp, _s: on_progress({"done": i + 1, "spans": sp}))
        label_segments(segments, DEFAULT_LANGUAGES)
        if diarize:
            from transcribe.diarize import assign
            from transcribe.diarize import diarize as find_turns

            segments = assign(segments, find_turns(audio))
    return Stenogram(segments=segments, title=path.stem)


def _transcribe_sitting(sitting_id: int, model: str | None, language: str):
    from sanarip.sittings import get_sitting
    from sanarip.transcripts import public_stenogram

    rt = ready_runtime()
    with rt.db.session(readonly=True) as s:
        get_sitting(s, sitting_id)
    payload = {"sitting": sitting_id, "language": language, "model": model}
    run_chain(rt, JobKind.TRANSCRIBE, {k: v for k, v in payload.items() if v is not None}, f"sitting {sitting_id}")
    with rt.db.session(readonly=True) as s:
        return public_stenogram(s, get_sitting(s, sitting_id))


COMMANDS = [transcribe]
