"""The sitting lifecycle: its statuses, the transitions allowed between them, and creation.

Every status change goes through :func:`transition`, so an illegal one (a published sitting
going live again, a failure without a reason) is refused with a clear error in one place.
Statuses are stored as plain strings (a ``StrEnum`` compares equal to its value), never as a
database enum, so adding one needs no schema migration.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sanarip.catalog import get_committee, validate_stream_url
from sanarip.clock import local_iso
from sanarip.errors import NotFound, SanaripError
from sanarip.models import Committee, Sitting
from sanarip.texthygiene import checked_text


class SittingStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    RECORDED = "recorded"
    TRANSCRIBED = "transcribed"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    FAILED = "failed"


S = SittingStatus

# Where each status may go. A status may always stay what it is (a resumed recording stays live,
# a re-run final pass keeps a reviewed or published sitting as it is, a sitting is published again).
TRANSITIONS: dict[SittingStatus, frozenset[SittingStatus]] = {
    S.SCHEDULED: frozenset({S.LIVE, S.FAILED}),
    S.LIVE: frozenset({S.RECORDED, S.FAILED}),  # recorded also when the recording was interrupted
    S.RECORDED: frozenset({S.TRANSCRIBED, S.FAILED}),
    S.TRANSCRIBED: frozenset({S.REVIEWED, S.PUBLISHED}),
    S.REVIEWED: frozenset({S.PUBLISHED}),
    S.PUBLISHED: frozenset(),
    S.FAILED: frozenset({S.LIVE}),  # recorded again from its source
}

# The recording has not ended yet: it is about to start or running.
ONGOING = frozenset({S.SCHEDULED, S.LIVE})
# The final pass has run: clerks may edit, review and publish.
TRANSCRIPT_READY = frozenset({S.TRANSCRIBED, S.REVIEWED, S.PUBLISHED})
# The recording has ended and the media is complete: the public archive lists these.
ARCHIVED = frozenset({S.RECORDED}) | TRANSCRIPT_READY


class IllegalTransition(SanaripError):
    """A status change the lifecycle does not allow."""


def is_ongoing(status: str) -> bool:
    """True while the sitting is scheduled or live (its recording may still add media)."""
    return status in ONGOING


def can_become(current: str, target: SittingStatus) -> bool:
    return current == target or target in TRANSITIONS[SittingStatus(current)]


def transition(sitting: Sitting, target: SittingStatus, reason: str | None = None) -> None:
    """Move ``sitting`` to ``target``; a failure needs a reason, which other statuses clear."""
    if not can_become(sitting.status, target):
        allowed = ", ".join(sorted(TRANSITIONS[SittingStatus(sitting.status)])) or "nothing"
        raise IllegalTransition(f"sitting {sitting.id} is {sitting.status}; it cannot become {target} "
                                f"(it may become: {allowed})")
    if target == S.FAILED and not reason:
        raise IllegalTransition(f"sitting {sitting.id}: a failure needs a reason")
    sitting.status = target
    sitting.failure_reason = reason if target == S.FAILED else None


def final_pass_done(sitting: Sitting) -> None:
    """The whole final-pass chain has run: a recorded sitting is now transcribed; a reviewed or
    published one keeps its status (the clerks' work and the publication stand)."""
    if sitting.status == S.RECORDED:
        transition(sitting, S.TRANSCRIBED)


def create_sitting(s: Session, committee: Committee, *, title: str = "", source_url: str | None = None,
                   scheduled_start: datetime | None = None, scheduled_end: datetime | None = None,
                   started_at: datetime | None = None, content_hash: str | None = None) -> Sitting:
    """A new scheduled sitting of ``committee`` (recorded live, or imported from a file)."""
    if scheduled_start and scheduled_end and scheduled_end <= scheduled_start:
        raise SanaripError(f"end {scheduled_end.isoformat()} is not after start {scheduled_start.isoformat()}")
    checked_text(title, "title")
    sitting = Sitting(committee_id=committee.id, title=title, source_url=source_url, status=S.SCHEDULED,
                      scheduled_start=scheduled_start, scheduled_end=scheduled_end, started_at=started_at,
                      content_hash=content_hash)
    s.add(sitting)
    s.flush()
    return sitting


def schedule_sitting(s: Session, committee: str, start: datetime, end: datetime, title: str = "",
                     source: str | None = None) -> Sitting:
    """A sitting that a worker records from ``start`` to ``end`` (the committee's stream by default)."""
    if end <= start:
        raise SanaripError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    c = get_committee(s, committee)
    if source:
        validate_stream_url(source)
    elif not c.stream_url:
        raise SanaripError(f"committee {committee!r} has no stream URL; give --source")
    return create_sitting(s, c, title=title, source_url=source, scheduled_start=start, scheduled_end=end)


def list_sittings(s: Session, committee: str | None = None) -> list[Sitting]:
    """Sittings oldest first."""
    q = select(Sitting).order_by(Sitting.id)
    if committee:
        q = q.where(Sitting.committee_id == get_committee(s, committee).id)
    return list(s.scalars(q))


def get_sitting(s: Session, sitting_id: int) -> Sitting:
    sitting = s.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(f"no sitting with id {sitting_id}")
    return sitting


def request_stop(s: Session, sitting_id: int) -> None:
    """Ask the recorder of an ongoing sitting to finish."""
    sitting = get_sitting(s, sitting_id)
    if not is_ongoing(sitting.status):
        raise SanaripError(f"sitting {sitting_id} is {sitting.status}, not live")
    sitting.stop_requested = True


def _iso(value: datetime | None) -> str | None:
    return local_iso(value)


def sitting_dict(st: Sitting) -> dict[str, Any]:
    """A sitting as the CLI and the API show it."""
    return {
        "id": st.id,
        "committee": st.committee.slug,
        "title": st.title,
        "status": st.status,
        "duration": float(st.duration or 0.0),
        "scheduled_start": _iso(st.scheduled_start),
        "scheduled_end": _iso(st.scheduled_end),
        "started_at": _iso(st.started_at),
        "ended_at": _iso(st.ended_at),
        "failure_reason": st.failure_reason,
    }
