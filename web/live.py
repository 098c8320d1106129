"""The live page. Viewers then fetch static files only: the multivariant HLS playlist with its
subtitle rendition (``sanarip.subtitles``) and the live-state file (``sanarip.livestate``), so an
audience costs the application one page view each. ``/live/<id>/segments`` stays as a JSON
polling API for scripts (not used by the page)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from sqlalchemy import select

from sanarip.livestate import state_key
from sanarip.models import Sitting, TranscriptSegment
from sanarip.sittings import SittingStatus
from web.deps import runtime
from web.media import public_media_url
from web.views import sitting_or_404

bp = Blueprint("live", __name__)


def _segments_after(sitting_id: int, after: float) -> tuple[str, list[dict], dict | None]:
    """The sitting's status, its transcript segments starting after media time ``after``, and
    the live draft's words not yet in a segment (None when there are none)."""
    with runtime().db.session(readonly=True) as s:
        status, partial = s.execute(select(Sitting.status, Sitting.live_partial)
                                    .where(Sitting.id == sitting_id)).one_or_none() or ("unknown", None)
        rows = s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sitting_id,
                                                         TranscriptSegment.start > after)
                         .order_by(TranscriptSegment.start).limit(200))
        segments = [{"id": r.id, "start": r.start, "end": r.end, "text": r.text, "language": r.language,
                     "unreliable": r.unreliable} for r in rows]
        return status, segments, partial if status == SittingStatus.LIVE else None


def _after_arg() -> float:
    try:
        return float(request.args.get("after") or "-1")
    except ValueError:
        return -1.0


@bp.route("/live/<int:sitting_id>")
def live_page(sitting_id: int):
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        key = state_key(sitting_id)
        return render_template("live.html", sitting=sitting,
                               state_url=public_media_url(key) or url_for("media.media", key=key))


@bp.route("/live/<int:sitting_id>/segments")
def live_segments(sitting_id: int):
    """Polling API: ``?after=<media seconds>`` → status, newer segments and the partial line."""
    status, segments, partial = _segments_after(sitting_id, _after_arg())
    return jsonify({"status": status, "segments": segments, "partial": partial})
