"""The clerks' Kyrgyz queue (/clerk/kyrgyz) and the language report (/clerk/languages).

Passages heard as Kyrgyz while no Kyrgyz model was configured are stored with empty text and
``needs_transcription``. The queue lists them with their durations, one small player per
sitting that plays a passage from its start to its end, and a text box per passage; saving goes
through the editor's API (``PATCH /api/v1/segments/<id>``), which spreads the word times over the
passage, labels the text's language and takes the passage off the queue.
"""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, render_template

from sanarip.languagereport import language_report, waiting_segments
from web.auth import require_role
from web.deps import runtime

bp = Blueprint("kyrgyz", __name__)


@bp.route("/clerk/kyrgyz")
@require_role("clerk")
def queue_page():
    with runtime().db.session(readonly=True) as s:
        waiting = waiting_segments(s)
        groups = [(sitting, [seg for seg, _ in rows]) for sitting, rows in groupby(waiting, key=lambda r: r[1])]
        total = sum(seg.end - seg.start for seg, _ in waiting)
        return render_template("kyrgyz_queue.html", groups=groups, total=total, count=len(waiting))


@bp.route("/clerk/languages")
@require_role("clerk")
def report_page():
    with runtime().db.session(readonly=True) as s:
        sittings, committees, languages = language_report(s)
        return render_template("language_report.html", sittings=sittings, committees=committees,
                               languages=languages)


def queue_summary() -> tuple[int, float]:
    """(passages waiting, their seconds) for the dashboard's section."""
    with runtime().db.session(readonly=True) as s:
        waiting = waiting_segments(s)
        return len(waiting), sum(seg.end - seg.start for seg, _ in waiting)
