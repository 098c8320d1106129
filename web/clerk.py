"""The clerks' side: the write API (edit, split, merge, revert, review, publish, persons),
the editor page and the history page.

Writes need a login (with CSRF) or an API token with the right role: clerk edits, editor
also publishes. Before a sitting's first publication the public sees the working copy, so
an edit re-indexes the segment at once; after it, the public view changes only on publish.
"""

from __future__ import annotations

import html
import logging
import re
from difflib import SequenceMatcher
from typing import Any

from flask import Blueprint, abort, g, jsonify, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from sanarip.agenda import agenda_of, describe_items
from sanarip.catalog import add_person as catalog_add_person
from sanarip.catalog import person_dict
from sanarip.editing import (
    Conflict,
    EditError,
    changes_since_publication,
    edit_segment,
    mark_reviewed,
    merge_segments,
    publish,
    revert,
    revision_json,
    segment_json,
    split_segment,
)
from sanarip.errors import NotFound, SanaripError
from sanarip.models import Person, Publication, Revision, TranscriptSegment
from sanarip.sittings import SittingStatus, is_ongoing
from sanarip.transcripts import latest_publication, working_segments
from web.auth import require_role
from web.deps import runtime
from web.errors import error_response
from web.views import external_url, sitting_or_404

log = logging.getLogger(__name__)
bp = Blueprint("clerk", __name__)
MAX_EDIT_BYTES = 64 * 1024
SURROGATE = re.compile("[\ud800-\udfff]")


def _json_body(*fields: str) -> dict[str, Any]:
    """The request's JSON object; with ``fields``, a field not among them is refused (400)."""
    if request.content_length and request.content_length > MAX_EDIT_BYTES:
        abort(413, _("Request too large (at most %(kb)s KB).", kb=MAX_EDIT_BYTES // 1024))
    try:
        data = request.get_json(silent=True)
        surrogate = _has_surrogate(data)
    except RecursionError:  # the parser's answer to [[[[… thousands deep
        abort(400, _("The JSON is nested too deeply."))
    if not isinstance(data, dict):
        abort(400, _("Send a JSON object (Content-Type: application/json)."))
    if surrogate:
        abort(400, _("The JSON holds an invalid Unicode escape (a lone surrogate such as \\ud800)."))
    unknown = sorted(set(data) - set(fields)) if fields else []
    if unknown:
        abort(400, _("unknown field(s): %(fields)s", fields=", ".join(unknown)))
    return data


def _has_surrogate(value: Any) -> bool:
    """True if any string (key or value) in the parsed JSON holds a lone surrogate, which is no text."""
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _write(action):
    """Run ``action(session)`` in one transaction; map domain errors to HTTP answers."""
    rt = runtime()
    try:
        with rt.db.session() as s:
            result, sitting_id = action(s)
            published = latest_publication(s, sitting_id) is not None
    except NotFound as exc:
        return error_response(404, str(exc))
    except EditError as exc:
        return error_response(400, str(exc))
    except Conflict as exc:
        return error_response(409, str(exc), current=exc.current)
    if not published or request.endpoint == "clerk.publish_sitting":
        runtime().indexer.sitting_changed(sitting_id)
    return jsonify(result)


@bp.route("/api/v1/segments/<int:segment_id>", methods=["PATCH"])
@require_role("clerk")
def patch_segment(segment_id: int):
    body = _json_body()

    def action(s):
        row = edit_segment(s, segment_id, body, g.user.id)
        return segment_json(s, row), row.sitting_id

    return _write(action)


@bp.route("/api/v1/segments/<int:segment_id>/split", methods=["POST"])
@require_role("clerk")
def split(segment_id: int):
    body = _json_body("version", "offset")

    def action(s):
        first, second = split_segment(s, segment_id, body.get("version"), body.get("offset"), g.user.id)
        return {"first": segment_json(s, first), "second": segment_json(s, second)}, first.sitting_id

    return _write(action)


@bp.route("/api/v1/segments/<int:segment_id>/merge", methods=["POST"])
@require_role("clerk")
def merge(segment_id: int):
    body = _json_body("version", "next_version")

    def action(s):
        row = merge_segments(s, segment_id, body.get("version"), body.get("next_version"), g.user.id)
        return segment_json(s, row), row.sitting_id

    return _write(action)


@bp.route("/api/v1/segments/<int:segment_id>/revisions")
@require_role("clerk")
def segment_revisions(segment_id: int):
    with runtime().db.session(readonly=True) as s:
        revs = s.scalars(select(Revision).where(Revision.segment_id == segment_id).order_by(Revision.id.desc()))
        return jsonify({"items": [revision_json(s, r) for r in revs], "next": None})


@bp.route("/api/v1/revisions/<int:revision_id>/revert", methods=["POST"])
@require_role("clerk")
def revert_revision(revision_id: int):
    def action(s):
        row = revert(s, revision_id, g.user.id)
        return segment_json(s, row), row.sitting_id

    return _write(action)


@bp.route("/api/v1/sittings/<int:sitting_id>/review", methods=["POST"])
@require_role("clerk")
def review_sitting(sitting_id: int):
    def action(s):
        mark_reviewed(s, sitting_id, g.user.id)
        return {"sitting": sitting_id, "status": SittingStatus.REVIEWED}, sitting_id

    return _write(action)


@bp.route("/api/v1/sittings/<int:sitting_id>/publish", methods=["POST"])
@require_role("editor")
def publish_sitting(sitting_id: int):
    def action(s):
        pub = publish(s, sitting_id, g.user.id)
        link = external_url("public.sitting_version", sitting_id=sitting_id, number=pub.number)
        return {"sitting": sitting_id, "number": pub.number, "published_at": pub.published_at.isoformat(),
                "link": link}, sitting_id

    return _write(action)


@bp.route("/api/v1/persons", methods=["POST"])
@require_role("clerk")
def add_person():
    body = _json_body("name", "faction", "role")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 300:
        return error_response(400, _("'name' is required (at most 300 characters)"))
    fields = {k: body.get(k) for k in ("faction", "role")}
    if any(v is not None and (not isinstance(v, str) or len(v) > 300) for v in fields.values()):
        return error_response(400, _("'faction' and 'role' must be short texts"))
    fields = {k: v or None for k, v in fields.items()}
    try:
        with runtime().db.session() as s:
            data = person_dict(catalog_add_person(s, name, **fields))
    except SanaripError as exc:
        return error_response(400, str(exc))
    return jsonify(data), 201


# --- pages -----------------------------------------------------------------------------------
@bp.route("/s/<int:sitting_id>/edit")
@require_role("clerk")
def editor(sitting_id: int):
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        if is_ongoing(sitting.status):
            abort(409, _("The live draft is read-only: the editor opens after the final pass."))
        rows = list(s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sitting_id)
                              .order_by(TranscriptSegment.start, TranscriptSegment.id)))
        persons = list(s.scalars(select(Person).order_by(Person.name)))
        pub = latest_publication(s, sitting_id)
        return render_template("editor.html", sitting=sitting, rows=rows, persons=persons, publication=pub,
                               messages=editor_messages(), agenda=agenda_of(s, sitting_id))


def editor_messages() -> dict[str, str]:
    """The editor script's texts in the page's language (``%s`` marks a value the script fills in);
    ``key.<action>`` describes an action of the keymap (web/static/keymap.js) in the help overlay.
    The names of sitting statuses come from the template (``data-statuses``)."""
    return {
        "saved": _("Saved ✓"), "saving": _("Saving…"), "unsaved": _("Not saved"), "personAdded": _("%s added ✓"),
        "unknownSpeaker": _("Unknown speaker: add the person first."),
        "conflict": _("Someone else saved first: “%s”. Reload to see it."), "error": _("Error %s"),
        "lastLine": _("This is the last line."), "saveFirst": _("Save the line first."),
        "noSpeaker": _("no speaker"), "noMatch": _("No such person: add them under “Add a person”."),
        "markedReviewed": _("Marked reviewed ✓"), "publishedAs": _("Published as version %s: %s"),
        "publishedInfo": _("published version %s (%s); your edits wait for the next publication"),
        "key.playPause": _("play / pause"), "key.back": _("back 5 seconds"), "key.forward": _("forward 5 seconds"),
        "key.nextLine": _("next line"), "key.previousLine": _("previous line"),
        "key.extendDown": _("select the next line too"), "key.extendUp": _("select the previous line too"),
        "key.save": _("save the line (or the selected lines)"), "key.speaker": _("choose the speaker by typing"),
        "key.setStart": _("line starts at the player's time"), "key.setEnd": _("line ends at the player's time"),
        "key.playLine": _("play from the line's start"), "key.split": _("split the line at the caret"),
        "key.merge": _("merge with the next line"), "key.cancel": _("close / undo the line's unsaved text"),
        "key.help": _("show this help"),
        "key.agendaAdd": _("new agenda item at the player's time"),
        "key.agendaStart": _("agenda item starts at the player's time"),
        "key.agendaEnd": _("agenda item ends at the player's time"),
        "key.agendaDelete": _("delete the agenda item"),
        "key.acceptProposal": _("accept the proposed speaker (of the selected lines, or the line's turn)"),
        "key.acceptAbove": _("accept every proposal scoring at least the score in the bar"),
        "key.selectTurn": _("select the line's whole turn (then Alt+S gives it one speaker)"),
        "key.relabel": _("this voice cluster is…: choose the person for every line of its label"),
    }


@bp.route("/s/<int:sitting_id>/edit/changes")
@require_role("clerk")
def changes(sitting_id: int):
    """What Publish would change since the last publication (a fragment for the confirmation)."""
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        pub, rows = changes_since_publication(s, sitting_id)
        return render_template("_changes.html", sitting=sitting, publication=pub, changes=rows, word_diff=word_diff)


@bp.app_context_processor
def clerk_globals() -> dict[str, Any]:
    return {"is_ongoing": is_ongoing}


def word_diff(before: str, after: str) -> Markup:
    """An HTML word diff: <del> and <ins> around changes, everything escaped."""
    a, b = before.split(), after.split()
    out = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            out.append(f"<del>{html.escape(' '.join(a[i1:i2]))}</del>")
        if tag in ("insert", "replace"):
            out.append(f"<ins>{html.escape(' '.join(b[j1:j2]))}</ins>")
        if tag == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
    return Markup(" ".join(out))


def speaker_change(s, rev: Revision) -> tuple[str, str] | None:
    """(before, after) speaker names when a revision changed who speaks, else None."""
    def names(state: dict) -> str:
        ids = [d.get("speaker_id") for d in state["segments"]]
        people = {pid: s.scalar(select(Person.name).where(Person.id == pid)) for pid in set(ids) if pid}
        return ", ".join(dict.fromkeys((people.get(pid) or "?") if pid else _("Unknown speaker") for pid in ids))

    before, after = names(rev.before), names(rev.after)
    return (before, after) if before != after else None


@bp.route("/s/<int:sitting_id>/history")
@require_role("clerk")
def history(sitting_id: int):
    """Every change to the sitting's stenogram, newest first, with word diffs."""
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        revs = list(s.scalars(select(Revision).where(Revision.sitting_id == sitting_id)
                              .order_by(Revision.id.desc()).limit(500)))
        entries = []
        for rev in revs:
            if "agenda" in rev.after:  # a clerk's agenda edit: the items before and after
                before, after = describe_items(rev.before["agenda"]), describe_items(rev.after["agenda"])
                entries.append((revision_json(s, rev), word_diff(before, after), None))
                continue
            before = " | ".join(d["text"] for d in rev.before["segments"])
            after = " | ".join(d["text"] for d in rev.after["segments"])
            entries.append((revision_json(s, rev), word_diff(before, after), speaker_change(s, rev)))
        pubs = list(s.scalars(select(Publication).where(Publication.sitting_id == sitting_id)
                              .order_by(Publication.number.desc())))
        working = len(working_segments(s, sitting_id))
        return render_template("history.html", sitting=sitting, entries=entries, publications=pubs,
                               working=working)
