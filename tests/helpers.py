"""Small helpers shared by tests: WER as the test data README defines it, media building."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ingest.media import ffmpeg_exe


def normalise(text: str) -> str:
    """Lowercase, ё→е, punctuation stripped (testdata/README.md)."""
    text = text.lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(normalise(reference), normalise(hypothesis))


def bare_wer(whisper, path: Path, language: str | None) -> float:
    """Bare faster-whisper's WER on ``path`` with the product's decoding options, measured now.

    int8 kernels give slightly different words on different CPUs, so the product is held to
    this run's bare baseline, never to a number measured on another machine.
    """
    from transcribe.engine import Options

    segments, _ = whisper.transcribe(str(path), **Options(language=language).whisper_kwargs(language))
    reference = path.with_suffix(".txt").read_text(encoding="utf-8")
    return wer(reference, " ".join(s.text for s in segments))


def concat_audio(parts: list[Path], out: Path, silence: float = 1.0) -> Path:
    """Join recordings (16 kHz mono WAV) with ``silence`` seconds between them."""
    inputs, filters = [], []
    for i, p in enumerate(parts):
        inputs += ["-i", str(p)]
        filters.append(f"[{i}:a]aresample=16000,aformat=channel_layouts=mono,apad=pad_dur={silence}[a{i}]")
    chain = "".join(f"[a{i}]" for i in range(len(parts)))
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex",
                    ";".join(filters) + f";{chain}concat=n={len(parts)}:v=0:a=1[out]", "-map", "[out]",
                    "-ar", "16000", "-ac", "1", str(out)], check=True)
    return out
