"""The clerks' dashboard (/clerk): what is live, what waits for review, what waits for publication.

One page a clerk opens first: each list shows the sitting's state, its age and who edited it
last, with links to the editor and the history. Other queues (the Kyrgyz one) add a section
to ``QUEUES`` and a block to ``dashboard.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import flask_babel
from flask import Blueprint, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.models import Revision, Sitting, User, utcnow
from sanarip.sittings import SittingStatus
from web.auth import require_role
from web.deps import runtime

bp = Blueprint("dashboard", __name__)
QUEUE_LIMIT = 200
# Section id → the sitting status it lists, in page order.
QUEUES: dict[str, SittingStatus] = {
    "live": SittingStatus.LIVE,
    "review": SittingStatus.TRANSCRIBED,
    "publish": SittingStatus.REVIEWED,
}


@dataclass(frozen=True)
class QueueRow:
    sitting: Sitting
    since: datetime  # when it started (live) or ended (else): what its age counts from
    last_editor: str | None
    last_edit: datetime | None


def _last_edits(s: Session, sitting_ids: list[int]) -> dict[int, tuple[str | None, datetime]]:
    """sitting id → (username, time) of its newest revision."""
    if not sitting_ids:
        return {}
    newest = (select(Revision.sitting_id, func.max(Revision.id).label("rid"))
              .where(Revision.sitting_id.in_(sitting_ids)).group_by(Revision.sitting_id).subquery())
    rows = s.execute(select(Revision.sitting_id, User.username, Revision.at)
                     .join(newest, Revision.id == newest.c.rid).outerjoin(User, User.id == Revision.editor_id))
    return {sid: (name, at) for sid, name, at in rows}


def queue(s: Session, status: SittingStatus) -> list[QueueRow]:
    """The sittings in ``status``, oldest first (the one waiting longest comes first)."""
    sittings = list(s.scalars(select(Sitting).where(Sitting.status == status)
                              .order_by(func.coalesce(Sitting.ended_at, Sitting.started_at, Sitting.created_at),
                                        Sitting.id).limit(QUEUE_LIMIT)))
    edits = _last_edits(s, [st.id for st in sittings])
    out = []
    for st in sittings:
        since = (st.started_at if status == SittingStatus.LIVE else st.ended_at or st.started_at) or st.created_at
        name, at = edits.get(st.id, (None, None))
        out.append(QueueRow(st, since, name, at))
    return out


@bp.route("/clerk")
@require_role("clerk")
def dashboard():
    with runtime().db.session(readonly=True) as s:
        queues = {name: queue(s, status) for name, status in QUEUES.items()}
        return render_template("dashboard.html", queues=queues, age=age)


def age(since: datetime | None) -> str:
    """How long ago, in the page's language ("3 hours")."""
    return flask_babel.format_timedelta(utcnow() - since, threshold=1.0) if since else ""
