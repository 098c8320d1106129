"""Wall clock ↔ media time: the one mapping every placed thing (votes, agenda marks, exports) uses.

A sitting's media time is the sum of its recorded segment durations; each segment knows the wall
clock of its first sample (the source's ``EXT-X-PROGRAM-DATE-TIME``, else receive time minus the
source delay). A gap row spans wall-clock time with no media: a moment inside it maps to the
media second where recording resumed, and is flagged. A sitting with no segment rows yet (an
import not yet remuxed) maps from its ``started_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sanarip.errors import SanaripError
from sanarip.models import MediaSegment, Sitting
from sanarip.sittings import is_ongoing

# A wall-clock moment this close outside the recording (clock skew, the last segment still being
# written) is placed at the nearest edge rather than refused.
EDGE_TOLERANCE = 10.0


@dataclass(frozen=True)
class Placement:
    media_time: float
    in_gap: bool = False  # the moment fell in a recorded gap: placed at the gap's end


@dataclass
class Timeline:
    """A sitting's segments (gaps included) in order, with its start for segment-less sittings."""

    segments: Sequence[MediaSegment]
    started_at: datetime | None
    duration: float
    open_ended: bool = False  # still recording: moments after the last segment extrapolate

    @classmethod
    def load(cls, s: Session, sitting: Sitting) -> Timeline:
        rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sitting.id)
                              .order_by(MediaSegment.seq)))
        return cls(rows, sitting.started_at, sitting.duration or 0.0, open_ended=is_ongoing(sitting.status))

    def _media(self) -> list[MediaSegment]:
        return [r for r in self.segments if not r.is_gap and r.wall_clock_start is not None]

    def to_media(self, when: datetime) -> Placement:
        """The media second at wall-clock ``when``; SanaripError if the sitting was not on then."""
        media = self._media()
        if not media:
            return self._from_start(when)
        first = media[0]
        if when < first.wall_clock_start - timedelta(seconds=EDGE_TOLERANCE):
            raise SanaripError(f"{when.isoformat()} is before the sitting's recording began "
                               f"({first.wall_clock_start.isoformat()})")
        if when <= first.wall_clock_start:
            return Placement(first.media_start)
        for row in self.segments:
            if row.is_gap:
                if row.wall_clock_start and row.wall_clock_end and row.wall_clock_start <= when < row.wall_clock_end:
                    return Placement(row.media_start, in_gap=True)
                continue
            if row.wall_clock_start is None:
                continue
            offset = (when - row.wall_clock_start).total_seconds()
            if offset < 0:  # between two segments (no gap row): where the later one begins
                return Placement(row.media_start, in_gap=offset < -1.0)
            if offset < row.duration:
                return Placement(row.media_start + offset)
        last = media[-1]
        end = last.media_start + last.duration
        beyond = (when - last.wall_clock_start).total_seconds() - last.duration
        if self.open_ended:
            return Placement(end + beyond)
        if beyond > EDGE_TOLERANCE:
            raise SanaripError(f"{when.isoformat()} is after the sitting's recording ended "
                               f"({(last.wall_clock_start + timedelta(seconds=last.duration)).isoformat()})")
        return Placement(end)

    def _from_start(self, when: datetime) -> Placement:
        if self.started_at is None:
            raise SanaripError("the sitting has no start time: nothing can be placed on its timeline")
        offset = (when - self.started_at).total_seconds()
        if offset < -EDGE_TOLERANCE:
            raise SanaripError(f"{when.isoformat()} is before the sitting began ({self.started_at.isoformat()})")
        if not self.open_ended and self.duration and offset > self.duration + EDGE_TOLERANCE:
            raise SanaripError(f"{when.isoformat()} is after the sitting ended "
                               f"({(self.started_at + timedelta(seconds=self.duration)).isoformat()})")
        return Placement(max(0.0, min(offset, self.duration) if not self.open_ended and self.duration else offset))

    def to_wall(self, media_time: float) -> datetime | None:
        """The wall clock of media second ``media_time`` (None when the sitting has no clock)."""
        media = self._media()
        if not media:
            return self.started_at + timedelta(seconds=media_time) if self.started_at else None
        chosen = media[0]
        for row in media:
            if row.media_start <= media_time:
                chosen = row
            else:
                break
        return chosen.wall_clock_start + timedelta(seconds=media_time - chosen.media_start)
