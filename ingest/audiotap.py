"""The live draft's audio: ffmpeg's raw 16 kHz mono PCM on a pipe, stored as WAV chunks as it arrives.

ffmpeg's segment muxer closes a chunk only when the first packet *after* it arrives; an HLS
source delivers its audio a source segment at a time, so each chunk waited for the next source
segment (a second more, with the test source's 1 s segments). Read from a pipe, audio is stored
as soon as ffmpeg has it: a chunk holds ``AUDIO_CHUNK_SECONDS`` (up to ``MIN_CHUNK`` more rather
than leave a sliver) and ends early when the pipe falls quiet (the end of a burst). Chunk
offsets are the samples read so far, on the media timeline from the connection's start
(``base_media``): ffmpeg fills holes in the source's audio with silence (``ingest.recorder``).
"""

from __future__ import annotations

import io
import logging
import os
import queue
import selectors
import threading
import wave
from typing import BinaryIO

from sanarip.medialayout import AUDIO_CHUNK_SECONDS, audio_chunk_key
from sanarip.storage import Storage

log = logging.getLogger(__name__)

RATE = 16000
BYTES_PER_SECOND = RATE * 2  # s16le mono
QUIET = 0.05  # seconds without new bytes that end a burst (and its chunk)
MIN_CHUNK = 0.25  # seconds: no chunk is shorter, but the last of a connection


def wav_bytes(pcm: bytes) -> bytes:
    """``pcm`` (s16le, 16 kHz mono) as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


class AudioTap:
    """Reads ``pipe`` in one thread and stores its chunks from another; ``join`` re-raises a failure.

    Reading never waits for storage: a slow upload would otherwise fill the pipe (64 KiB, 2 s of
    audio) and stall ffmpeg, and with it the media segments of the same process."""

    def __init__(self, storage: Storage, sitting_id: int, first_seq: int, base_media: float, pipe: BinaryIO) -> None:
        self.storage = storage
        self.sitting_id = sitting_id
        self.seq = first_seq
        self.base_media = base_media
        self.pipe = pipe
        self.samples = 0
        self.error: BaseException | None = None
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._read, name=f"audio-read-{sitting_id}", daemon=True),
                         threading.Thread(target=self._store, name=f"audio-store-{sitting_id}", daemon=True)]

    def start(self) -> AudioTap:
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        """Wait for the end of the pipe (ffmpeg has exited); the last, short chunk is stored too."""
        for thread in self._threads:
            thread.join()
        if self.error is not None:
            raise self.error

    def _read(self) -> None:
        pending = bytearray()
        limit = int(AUDIO_CHUNK_SECONDS * BYTES_PER_SECOND)
        least = int(MIN_CHUNK * BYTES_PER_SECOND)
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.pipe, selectors.EVENT_READ)
                while self.error is None:
                    ready = bool(sel.select(QUIET))
                    if ready:
                        data = os.read(self.pipe.fileno(), 65536)
                        if not data:
                            break
                        pending += data
                    # Cut at the limit unless only a sliver would remain; at a pause, unless the
                    # chunk would be a sliver (a real-time source pauses between its audio frames).
                    while pending:
                        if len(pending) >= limit + least:
                            size = limit
                        elif not ready and len(pending) >= least:
                            size = len(pending) - len(pending) % 2
                        else:
                            break
                        self._chunks.put(bytes(pending[:size]))
                        del pending[:size]
            if len(pending) >= 2:
                self._chunks.put(bytes(pending[:len(pending) - len(pending) % 2]))
        except BaseException as exc:  # noqa: BLE001 - handed to the recording thread by join()
            log.exception("sitting %s: reading live audio failed", self.sitting_id)
            self.error = exc
        finally:
            self._chunks.put(None)
            self.pipe.close()  # after a failure ffmpeg's next write fails, and the connection ends

    def _store(self) -> None:
        while (pcm := self._chunks.get()) is not None:
            if self.error is not None:
                continue  # drained, not stored: the connection is ending
            try:
                key = audio_chunk_key(self.sitting_id, self.seq, self.base_media + self.samples / RATE)
                self.storage.put_bytes(key, wav_bytes(pcm), "audio/wav")
            except BaseException as exc:  # noqa: BLE001 - handed to the recording thread by join()
                log.exception("sitting %s: storing live audio failed", self.sitting_id)
                self.error = exc  # the reader stops and closes the pipe
                continue
            self.seq += 1
            self.samples += len(pcm) // 2
