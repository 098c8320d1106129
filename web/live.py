"""The live page: the growing HLS playlist and the live transcript, pushed by Server-Sent Events
(with JSON polling as the fallback)."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, jsonify, render_template, request, stream_with_context
from sqlalchemy import select

from sanarip.models import Sitting, TranscriptSegment
from sanarip.sittings import SittingStatus, is_ongoing
from web.deps import runtime
from web.views import sitting_or_404

bp = Blueprint("live", __name__)
STREAM_SECONDS = 25.0  # each SSE connection ends after this; EventSource reconnects with Last-Event-ID


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
    raw = request.args.get("after") or request.headers.get("Last-Event-ID") or "-1"
    try:
        return float(raw)
    except ValueError:
        return -1.0


@bp.route("/live/<int:sitting_id>")
def live_page(sitting_id: int):
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        return render_template("live.html", sitting=sitting)


@bp.route("/live/<int:sitting_id>/segments")
def live_segments(sitting_id: int):
    """Polling fallback: ``?after=<media seconds>`` → status, newer segments and the partial line."""
    status, segments, partial = _segments_after(sitting_id, _after_arg())
    return jsonify({"status": status, "segments": segments, "partial": partial})


@bp.route("/live/<int:sitting_id>/events")
def live_events(sitting_id: int):
    with runtime().db.session(readonly=True) as s:
        sitting_or_404(s, sitting_id)
    after = _after_arg()

    def stream():
        nonlocal after
        yield "retry: 1000\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        shown: dict | None = None
        while time.monotonic() < deadline:
            status, segments, partial = _segments_after(sitting_id, after)
            for seg in segments:
                after = seg["start"]
                yield f"id: {after}\nevent: segment\ndata: {json.dumps(seg, ensure_ascii=False)}\n\n"
            if partial != shown or segments:
                shown = partial
                yield f"event: partial\ndata: {json.dumps(partial, ensure_ascii=False)}\n\n"
            if not is_ongoing(status):
                yield f"event: ended\ndata: {json.dumps({'status': status})}\n\n"
                return
            time.sleep(1.0)

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
