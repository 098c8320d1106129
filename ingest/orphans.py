"""Live sittings nobody is recording any more are ended: recorded, with a gap up to now.

A sitting stays ``live`` only while a recorder works on it. When its ``record`` job is gone
(the foreground ``sanarip record`` was interrupted with Ctrl-C, a job died for good, a demo was
killed), nothing would ever end it: the worker sweeps for such sittings at start-up and every
minute, and ``sanarip stop`` ends one at once when no worker is recording it. A handed-back or
leased job is not gone: a worker resumes it (with a gap) and it ends as usual.
"""

from __future__ import annotations

import logging

from sanarip.jobs import JobStatus
from sanarip.models import utcnow
from sanarip.pipeline import RecordPayload, next_jobs
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus, get_sitting, list_sittings, request_stop

log = logging.getLogger(__name__)


def recorder_alive(rt: Runtime, sitting_id: int) -> bool:
    """True while a worker holds the sitting's record job on an unexpired lease."""
    active = rt.queue.active(RecordPayload(sitting_id))
    return active is not None and active[1] == JobStatus.RUNNING and active[2] is not None and active[2] > utcnow()


def end_recording(rt: Runtime, sitting_id: int, reason: str) -> str:
    """End a live sitting that no recorder works on: a gap from its last media to now, the final
    playlist, ``recorded`` (``failed`` without media); its queued record job is cancelled and the
    final pass queued. Returns the new status."""
    from ingest.recorder import Recorder

    active = rt.queue.active(RecordPayload(sitting_id))
    if active is not None:
        rt.queue.cancel(active[0])
    recorder = Recorder(rt, sitting_id)
    recorder._load()
    if recorder.state.last_wall_end is not None:
        recorder.add_gap(recorder.state.last_wall_end, utcnow())
    failure = recorder._finish(None if recorder.state.segments else f"no media received ({reason})", reason)
    if failure:
        return SittingStatus.FAILED
    for payload in next_jobs(RecordPayload(sitting_id)):
        rt.queue.submit(payload)
    return SittingStatus.RECORDED


def end_orphaned_live(rt: Runtime) -> list[int]:
    """End every live sitting whose record job is gone (neither queued nor running); their ids."""
    with rt.db.session(readonly=True) as s:
        live = [st.id for st in list_sittings(s) if st.status == SittingStatus.LIVE]
    ended = []
    for sitting_id in live:
        if rt.queue.active(RecordPayload(sitting_id)) is None:
            log.warning("sitting %s: live, but nobody records it; ending it (recorded, with a gap)", sitting_id)
            end_recording(rt, sitting_id, "recording job gone")
            ended.append(sitting_id)
    return ended


def stop_recording(rt: Runtime, sitting_id: int) -> str:
    """``sanarip stop``: ask the recorder to finish, or, when no worker is recording, end it now.
    Returns what happened, in words for the operator."""
    with rt.db.session() as s:
        request_stop(s, sitting_id)
        status = get_sitting(s, sitting_id).status
    if status == SittingStatus.LIVE and not recorder_alive(rt, sitting_id):
        return f"no worker is recording it: {end_recording(rt, sitting_id, 'stop requested')} now"
    return "stop requested"
