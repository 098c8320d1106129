"""Feeding recorded speech to the live transcriber as ingest would: WAV chunks in storage.

2 s chunks by default, where ingest writes at most 1 s ones (``AUDIO_CHUNK_SECONDS``): the live job takes
chunks of any length, and a drained job makes one pass per chunk, so 2 s halve the tests' passes.
"""

from __future__ import annotations

import numpy as np

from ingest.audiotap import RATE as SR
from ingest.audiotap import wav_bytes as pcm_wav
from sanarip.medialayout import audio_chunk_key
from sanarip.storage import Storage


def wav_bytes(samples: np.ndarray) -> bytes:
    """Float samples as ingest's WAV chunk."""
    return pcm_wav((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def put_chunks(storage: Storage, sitting_id: int, audio: np.ndarray, first_seq: int = 0, offset: float = 0.0,
               seconds: float = 2.0) -> int:
    """Store ``audio`` as chunk files; returns the next sequence number."""
    step = int(seconds * SR)
    seq = first_seq
    for i in range(0, len(audio), step):
        storage.put_bytes(audio_chunk_key(sitting_id, seq, offset + i / SR), wav_bytes(audio[i:i + step]))
        seq += 1
    return seq
