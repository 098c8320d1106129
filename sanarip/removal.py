"""Deleting a sitting for good: its media, working files, transcript, publications and jobs.

What the search index holds is the search package's to remove (the CLI composes both): the
core deletes everything else. A sitting being recorded is refused: stop it first.
"""

from __future__ import annotations

from sqlalchemy import delete

from sanarip.errors import SanaripError
from sanarip.medialayout import sitting_prefix, working_prefix
from sanarip.models import Sitting
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus, get_sitting


def delete_sitting(rt: Runtime, sitting_id: int) -> dict[str, int]:
    """Remove the sitting, its stored files and its rows (segments, media, publications, revisions
    cascade); cancel its queued or running jobs. Returns counts of what went."""
    with rt.db.session(readonly=True) as s:
        sitting = get_sitting(s, sitting_id)
        if sitting.status == SittingStatus.LIVE:
            raise SanaripError(f"sitting {sitting_id} is being recorded; run `sanarip stop {sitting_id}` first")
    jobs = rt.queue.cancel_for_sitting(sitting_id)
    files = rt.storage.delete_prefix(sitting_prefix(sitting_id) + "/")
    files += rt.storage.delete_prefix(working_prefix(sitting_id) + "/")
    with rt.db.session() as s:
        s.execute(delete(Sitting).where(Sitting.id == sitting_id))  # the database cascades to its rows
    return {"files": files, "jobs": jobs}
