"""Speaker proposals for the live draft: who is probably speaking, while the sitting runs.

When the live job commits a line, the line's own audio (kept here: the transcriber has trimmed
its buffer by then) is embedded with the diarization encoder and matched against the voice
profiles (``sanarip.speakers.identify``, the final pass's threshold). A match is stored on the
live row as its ``speaker_proposal`` — working data, like the final pass's, never the confirmed
speaker — and ``sanarip.speakers.live_proposals`` puts the recent ones in the live-state file,
which the live page shows beside the line, marked automatic. The final pass replaces the draft,
proposals included. Nothing is computed while no one has a voice profile.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from sanarip.speakers import VOICE_THRESHOLD, Profile, identify, load_profiles
from sanarip.stenogram import Segment
from transcribe.audio import SAMPLE_RATE
from transcribe.diarize import NotEnoughSpeech, embed_speech
from transcribe.voice import WeightsError

log = logging.getLogger(__name__)

KEEP_SECONDS = 60.0  # audio kept: more than the transcriber's buffer (15 s), so a committed line is in it
MIN_SECONDS = 1.0  # speech a line needs for its voice to be matched (shorter ones get no proposal)
PAD = 0.2  # seconds of audio either side of a line's words (word times are tight)
PROFILES_EVERY = 60.0  # seconds between re-reads of the profiles (an admin may enrol during a sitting)


class RecentAudio:
    """The last ``KEEP_SECONDS`` of the stream as fed, addressable by media time."""

    def __init__(self, keep: float = KEEP_SECONDS) -> None:
        self.keep = keep
        self.start = 0.0
        self.samples = np.zeros(0, dtype=np.float32)

    def feed(self, offset: float, samples: np.ndarray) -> None:
        end = self.start + len(self.samples) / SAMPLE_RATE
        if not len(self.samples) or abs(offset - end) > 0.05:  # first chunk, or a jump (resume, gap)
            self.start, self.samples = offset, np.asarray(samples, dtype=np.float32)
        else:
            self.samples = np.concatenate([self.samples, samples])
        drop = len(self.samples) - int(self.keep * SAMPLE_RATE)
        if drop > 0:
            self.samples = self.samples[drop:]
            self.start += drop / SAMPLE_RATE

    def slice(self, start: float, end: float) -> np.ndarray:
        a = max(0, int(round((start - self.start) * SAMPLE_RATE)))
        b = max(a, int(round((end - self.start) * SAMPLE_RATE)))
        return self.samples[a:b]


class LiveVoices:
    """Feed it the stream's audio; ``propose(segment)`` gives the committed line's proposal or None."""

    def __init__(self, rt: Any, threshold: float = VOICE_THRESHOLD) -> None:
        self.rt = rt
        self.threshold = threshold
        self.audio = RecentAudio()
        self._profiles: list[Profile] = []
        self._read_at: float | None = None
        self._broken = False

    def feed(self, offset: float, samples: np.ndarray) -> None:
        self.audio.feed(offset, samples)

    def profiles(self) -> list[Profile]:
        now = time.monotonic()
        if self._read_at is None or now - self._read_at > PROFILES_EVERY:
            with self.rt.db.session(readonly=True) as s:
                self._profiles = load_profiles(s)
            self._read_at = now
        return self._profiles

    def propose(self, seg: Segment) -> dict[str, Any] | None:
        if self._broken:
            return None
        profiles = self.profiles()
        samples = self.audio.slice(seg.start - PAD, seg.end + PAD)
        if not profiles or len(samples) < MIN_SECONDS * SAMPLE_RATE:
            return None
        try:
            embedding, _seconds = embed_speech(samples, min_seconds=MIN_SECONDS)
        except NotEnoughSpeech:
            return None
        except WeightsError as exc:  # no encoder: the draft goes on without proposals
            log.warning("live speaker proposals off: %s", exc)
            self._broken = True
            return None
        return identify(embedding, profiles, self.threshold)
