"""Recordings as 16 kHz mono audio, read a span at a time.

A six-hour sitting is 1.4 GB as float32, so the final pass never holds it whole: the media is
decoded once, streaming, into 16-bit PCM in a temporary file (0.7 GB for six hours, on disk),
and each span is read back when it is transcribed. The samples are exactly those of
``faster_whisper.decode_audio`` (PyAV's resampler to s16 mono 16 kHz, scaled to [-1, 1)).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16000


class Audio(Protocol):
    """What the final pass reads: the duration, and any stretch of the samples."""

    @property
    def duration(self) -> float: ...

    def read(self, start: float, end: float) -> np.ndarray: ...


class ArrayAudio:
    """Audio already in memory (short files, tests, the CLI's small inputs)."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = samples

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def read(self, start: float, end: float) -> np.ndarray:
        return self.samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]


class PcmFile:
    """16-bit mono PCM on disk; ``read`` returns float32 like ``decode_audio``. Reads are plain
    file reads (not a memory map), so only the span being worked on counts against memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._samples = path.stat().st_size // 2

    @property
    def duration(self) -> float:
        return self._samples / SAMPLE_RATE

    def read(self, start: float, end: float) -> np.ndarray:
        first = min(max(0, int(start * SAMPLE_RATE)), self._samples)
        count = max(0, min(int(end * SAMPLE_RATE), self._samples) - first)
        with open(self.path, "rb") as fh:
            fh.seek(2 * first)
            piece = np.frombuffer(fh.read(2 * count), dtype=np.int16)
        return piece.astype(np.float32) / 32768.0


def as_audio(audio: Audio | np.ndarray) -> Audio:
    return ArrayAudio(audio) if isinstance(audio, np.ndarray) else audio


def blocks(audio: Audio, seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(start, samples) of consecutive blocks of at most ``seconds``."""
    start = 0.0
    while start < audio.duration:
        yield start, audio.read(start, min(start + seconds, audio.duration))
        start += seconds


def _frames(container) -> Iterator:
    """The audio frames, skipping undecodable ones, without timestamps: a recording's gaps are
    already cut out of its timeline, so the resampler must not pad or drop samples for them."""
    import av

    frames = container.decode(audio=0)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue
        frame.pts = None
        yield frame


@contextmanager
def decoded(source: str, group: int = 500_000) -> Iterator[PcmFile]:
    """Decode any media PyAV reads into a temporary PCM file, deleted afterwards.

    Frames are resampled in groups of ``group`` samples, as ``decode_audio`` does, so the
    samples are the same. Raises ``av.error.FFmpegError`` (or ``ValueError`` for a file
    without audio) on media it cannot read.
    """
    import av

    with tempfile.TemporaryDirectory(prefix="sanarip-pcm-") as tmp:
        path = Path(tmp) / "audio.s16"
        with av.open(source, mode="r", metadata_errors="ignore") as container, open(path, "wb") as out:
            if not container.streams.audio:
                raise ValueError(f"{source}: no audio stream")
            resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            fifo = av.audio.fifo.AudioFifo()

            def write(frame) -> None:
                for resampled in resampler.resample(frame):
                    out.write(resampled.to_ndarray().tobytes())

            for frame in _frames(container):
                fifo.write(frame)
                if fifo.samples >= group:
                    write(fifo.read())
            if fifo.samples:
                write(fifo.read())
            write(None)  # flush the resampler
        yield PcmFile(path)
