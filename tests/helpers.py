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
