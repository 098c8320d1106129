"""ingest.audiotap: the live draft's audio read from a real pipe into real local storage."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from ingest.audiotap import BYTES_PER_SECOND, MIN_CHUNK, RATE, AudioTap
from sanarip.medialayout import audio_chunk_offset, audio_chunks_prefix
from sanarip.storage import LocalStorage
from transcribe.live import read_chunk


class HeldStorage(LocalStorage):
    """Local storage whose writes wait for ``release`` (an upload that hangs), or fail."""

    def __init__(self, root, fail: bool = False) -> None:
        super().__init__(root)
        self.release = threading.Event()
        self.fail = fail

    def put_bytes(self, key, data, content_type=None) -> None:
        self.release.wait()
        if self.fail:
            raise OSError("the bucket is gone")
        super().put_bytes(key, data, content_type)


def _pcm(seconds: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def test_reading_goes_on_while_storage_waits_and_every_sample_is_stored(tmp_path):
    storage = HeldStorage(tmp_path / "store")
    read_end, write_end = os.pipe()
    tap = AudioTap(storage, 7, first_seq=3, base_media=12.5, pipe=os.fdopen(read_end, "rb")).start()
    pcm = _pcm(6.0)  # three pipe buffers: a writer would block if the tap waited for storage
    writer = threading.Thread(target=lambda: (os.write(write_end, pcm), os.close(write_end)), daemon=True)
    writer.start()
    writer.join(timeout=20)
    assert not writer.is_alive(), "ffmpeg's side of the pipe blocked while storage was slow"
    storage.release.set()
    tap.join()
    keys = sorted(storage.list(audio_chunks_prefix(7)))
    assert tap.seq == 3 + len(keys)
    offsets = [audio_chunk_offset(k) for k in keys]
    audio = [read_chunk(storage.get_bytes(k)) for k in keys]
    assert offsets[0] == 12.5
    for offset, samples, next_offset in zip(offsets, audio, [*offsets[1:], None], strict=True):
        assert 0 < len(samples) <= (1 + MIN_CHUNK) * RATE
        if next_offset is not None:  # only a connection's last chunk may be a sliver
            assert len(samples) >= MIN_CHUNK * RATE
            assert next_offset == pytest.approx(offset + len(samples) / RATE, abs=0.001)
    assert sum(len(a) for a in audio) * 2 == len(pcm)


def test_a_storage_failure_closes_the_pipe_and_reaches_join(tmp_path):
    storage = HeldStorage(tmp_path / "store", fail=True)
    storage.release.set()
    read_end, write_end = os.pipe()
    tap = AudioTap(storage, 7, first_seq=0, base_media=0.0, pipe=os.fdopen(read_end, "rb")).start()
    second = _pcm(1.0)[:BYTES_PER_SECOND]
    deadline = time.monotonic() + 30
    with pytest.raises(BrokenPipeError), os.fdopen(write_end, "wb", buffering=0) as out:
        while time.monotonic() < deadline:  # ffmpeg's side: it writes until the tap closes the pipe
            out.write(second)
    with pytest.raises(OSError, match="the bucket is gone"):
        tap.join()
    assert storage.list(audio_chunks_prefix(7)) == []
