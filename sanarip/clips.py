"""Clips: a range of a sitting's timeline, as a link (``?t=START-END``), an MP4 file and an embed.

A range is written as people write moments (``754.2``, ``12:34``, ``1:02:03``) joined by ``-``;
both ends are rounded to milliseconds so that one range has one storage key, whatever the spelling.
The MP4 is made once by a ``clip`` job (ffmpeg, in ``ingest/clips.py``) and kept in public storage.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from sanarip.errors import SanaripError
from sanarip.limits import MAX_MEDIA_SECONDS
from sanarip.medialayout import sitting_prefix
from sanarip.stenogram import Segment, Stenogram, parse_clock, to_srt

MAX_CLIP_SECONDS = 15 * 60.0  # the longest MP4 anyone may ask the server to make
MIN_CLIP_SECONDS = 0.5
MOMENT_PATTERN = r"\d+(?::\d{1,2}){0,2}(?:\.\d+)?"  # 754.2, 12:34, 1:02:03
RANGE_RE = re.compile(f"{MOMENT_PATTERN}-{MOMENT_PATTERN}")  # the shape of START-END (not yet its sense)


class RangeError(SanaripError, ValueError):
    """A range that cannot be read or that the sitting does not hold."""


@dataclass(frozen=True)
class ClipRange:
    """``[start, end)`` in media seconds, to the millisecond."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def start_ms(self) -> int:
        return round(self.start * 1000)

    @property
    def end_ms(self) -> int:
        return round(self.end * 1000)

    @classmethod
    def from_ms(cls, start_ms: int, end_ms: int) -> ClipRange:
        return cls(start_ms / 1000, end_ms / 1000)

    def text(self) -> str:
        """The range as a ``t`` parameter (seconds, shortest form)."""
        return f"{self.start_ms / 1000:g}-{self.end_ms / 1000:g}"


def parse_range(text: str) -> ClipRange:
    """``START-END`` (seconds or clock values) → ClipRange; RangeError when malformed or backwards."""
    start_text, sep, end_text = text.strip().partition("-")
    if not sep:
        raise RangeError(f"a range is START-END, such as 754-790 or 12:34-13:10, not {text!r}")
    try:
        start, end = parse_clock(start_text), parse_clock(end_text)
    except ValueError:
        raise RangeError(f"a range is START-END, such as 754-790 or 12:34-13:10, not {text!r}") from None
    if not (math.isfinite(start) and math.isfinite(end)) or not 0 <= start < end <= MAX_MEDIA_SECONDS:
        raise RangeError("a range must start before it ends, within the sitting")
    return ClipRange(round(start, 3), round(end, 3))


def clip_range(text: str, duration: float | None) -> ClipRange:
    """A range for an MP4 of a sitting ``duration`` seconds long: within it, at most 15 minutes."""
    rng = parse_range(text)
    if duration is not None and rng.start >= duration:
        raise RangeError(f"the sitting is only {duration:.1f} s long")
    if duration is not None and rng.end > duration:
        rng = ClipRange(rng.start, round(duration, 3))
    if rng.duration > MAX_CLIP_SECONDS:
        raise RangeError(f"a clip is at most {MAX_CLIP_SECONDS / 60:.0f} minutes long")
    if rng.duration < MIN_CLIP_SECONDS:
        raise RangeError(f"a clip is at least {MIN_CLIP_SECONDS} s long")
    return rng


def clip_key(sitting_id: int, rng: ClipRange, burn: bool = False) -> str:
    """Where the range's MP4 is kept (public: ``sittings/<id>/clips/…``)."""
    return f"{sitting_prefix(sitting_id)}/clips/{rng.start_ms}-{rng.end_ms}{'-captions' if burn else ''}.mp4"


def overlapping(segments: list[Segment], rng: ClipRange) -> list[Segment]:
    """The segments that overlap the range, as they are (on the sitting's clock)."""
    return [seg for seg in segments if seg.end > rng.start and seg.start < rng.end]


def range_segments(segments: list[Segment], rng: ClipRange) -> list[Segment]:
    """The segments that overlap the range, on the clip's own clock (0 = the range's start)."""
    return [dataclasses.replace(seg, start=round(max(seg.start, rng.start) - rng.start, 3),
                                end=round(min(seg.end, rng.end) - rng.start, 3), words=[])
            for seg in overlapping(segments, rng)]


def clip_subtitles(st: Stenogram, rng: ClipRange) -> str:
    """The range's transcript as SRT on the clip's clock (the MP4's soft subtitle track)."""
    return to_srt(dataclasses.replace(st, segments=range_segments(st.segments, rng)))
