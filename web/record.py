"""The parliamentary record on the web: agenda and vote-event API (list, e-voting push), Popolo open
data, votes.csv, agenda item links, deputy and faction records, the faction comparison page.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, abort, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from sanarip import livestate
from sanarip.agenda import agenda_dicts, item_at, next_item, replace_agenda
from sanarip.errors import NotFound, SanaripError
from sanarip.models import Organization, Person, Sitting, Vote, VoteEvent, utcnow
from sanarip.popolo import FACTION_CLASSES, popolo_document
from sanarip.records import compare_factions, deputy_record, faction_record
from sanarip.sittings import is_ongoing
from sanarip.texthygiene import spreadsheet_cell
from sanarip.votes import store_vote_events, vote_event_dicts
from web.auth import require_role
from web.clerk import _has_surrogate
from web.deps import runtime
from web.errors import error_response
from web.views import committee_or_404, date_arg, person_or_404, sitting_or_404

bp = Blueprint("records", __name__)
MAX_PUSH_BYTES = 1 << 20


@bp.after_request
def cors(resp: Response) -> Response:
    if request.path.startswith("/api/") and request.method in ("GET", "HEAD", "OPTIONS"):
        resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


# --- API ----------------------------------------------------------------------------------------
# GET and POST of one path share a view: an id beyond the column's range is then 404 for both
# methods (with two views the router answers the other method's 405).
@bp.route("/api/v1/sittings/<int:sitting_id>/agenda", methods=["GET", "POST"])
def agenda(sitting_id: int):
    """Agenda items in order, ``start``/``end`` in media seconds."""
    if request.method == "POST":
        return replace_agenda_api(sitting_id)
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        return jsonify({"items": agenda_dicts(s, sitting), "next": None})


@require_role("clerk")
def replace_agenda_api(sitting_id: int):
    """Replace the sitting's agenda (what ``sanarip agenda import`` does): corrections after the sitting."""
    body = request.get_json(silent=True)
    rt = runtime()
    try:
        with rt.db.session() as s:
            sitting_or_404(s, sitting_id)
            replace_agenda(s, sitting_id, body, rt.settings.tz, editor_id=g.user.id if g.user else None)
            items = agenda_dicts(s, sitting_or_404(s, sitting_id))
    except NotFound as exc:
        return error_response(404, str(exc))
    except SanaripError as exc:
        return error_response(400, str(exc))
    rt.indexer.sitting_changed(sitting_id)
    _live_changed(sitting_id)
    return jsonify({"items": items, "next": None})


@bp.route("/api/v1/sittings/<int:sitting_id>/vote-events", methods=["GET", "POST"])
def vote_events(sitting_id: int):
    if request.method == "POST":
        return push_vote_events(sitting_id)
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        return jsonify({"items": vote_event_dicts(s, sitting), "next": None})


@require_role("editor")
def push_vote_events(sitting_id: int):
    """The e-voting system's push: one vote event (an object) or a list; all stored or none."""
    if request.content_length and request.content_length > MAX_PUSH_BYTES:
        abort(413, _("Request too large (at most 1 MB)."))
    try:
        body = request.get_json(silent=True)
        surrogate = _has_surrogate(body)
    except RecursionError:
        abort(400, _("The JSON is nested too deeply."))
    if surrogate:
        abort(400, _("The JSON holds an invalid Unicode escape (a lone surrogate such as \\ud800)."))
    if not isinstance(body, dict | list):
        return error_response(400, _("Send a vote event (a JSON object) or a list of them (Content-Type: "
                                     "application/json)."))
    rt = runtime()
    try:
        with rt.db.session() as s:
            sitting_or_404(s, sitting_id)
            rows = store_vote_events(s, sitting_id, body, rt.settings.tz)
            items = [{"identifier": r.identifier, "media_time": r.media_time, "in_gap": r.in_gap} for r in rows]
    except NotFound as exc:
        return error_response(404, str(exc))
    except SanaripError as exc:
        return error_response(400, str(exc))
    _live_changed(sitting_id)
    return jsonify({"items": items, "next": None}), 201


def _live_changed(sitting_id: int) -> None:
    """A live sitting's viewers see a pushed vote or a new agenda item at their next poll of the live-state file."""
    rt = runtime()
    with rt.db.session(readonly=True) as s:
        ongoing = is_ongoing(sitting_or_404(s, sitting_id).status)
    if ongoing:
        livestate.write(rt, sitting_id)


@bp.route("/api/v1/popolo.json")
def popolo_all():
    with runtime().db.session(readonly=True) as s:
        return jsonify(popolo_document(s))


@bp.route("/api/v1/sittings/<int:sitting_id>/popolo.json")
def popolo_sitting(sitting_id: int):
    with runtime().db.session(readonly=True) as s:
        sitting_or_404(s, sitting_id)
        return jsonify(popolo_document(s, sitting_id))


VOTE_FIELDS = ["sitting", "vote_event", "motion", "start_date", "media_time", "result", "person_id", "person",
               "option", "group"]


@bp.route("/api/v1/votes.csv")
def votes_csv():
    """One row per person per vote event."""
    return _votes_csv(None, "votes.csv")


@bp.route("/api/v1/committees/<slug>/votes.csv")
def committee_votes_csv(slug: str):
    """A committee's votes: one row per person per vote event of its sittings."""
    with runtime().db.session(readonly=True) as s:
        committee_id = committee_or_404(s, slug).id
    return _votes_csv(committee_id, f"{slug}-votes.csv")


def _votes_csv(committee_id: int | None, filename: str) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(VOTE_FIELDS)
    with runtime().db.session(readonly=True) as s:
        query = (select(VoteEvent, Vote, Person.name, Organization.name)
                 .join(Vote, Vote.vote_event_id == VoteEvent.id).join(Person, Vote.person_id == Person.id)
                 .outerjoin(Organization, Vote.group_id == Organization.id)
                 .order_by(VoteEvent.start_date, VoteEvent.id, Person.name))
        if committee_id is not None:
            query = query.join(Sitting, Sitting.id == VoteEvent.sitting_id).where(Sitting.committee_id == committee_id)
        rows = s.execute(query)
        for ve, v, name, group in rows:
            writer.writerow([spreadsheet_cell(x) for x in (
                ve.sitting_id, ve.identifier, ve.motion_identifier or ve.motion_text[:200],
                ve.start_date.isoformat(timespec="seconds"), ve.media_time, ve.result, v.person_id, name,
                v.option, group)])
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/api/v1/persons/<int:person_id>/record")
def person_record_api(person_id: int):
    with runtime().db.session(readonly=True) as s:
        return jsonify(deputy_record(s, person_or_404(s, person_id)))


@bp.route("/api/v1/factions/<int:org_id>/record")
def faction_record_api(org_id: int):
    with runtime().db.session(readonly=True) as s:
        return jsonify(faction_record(s, _faction_or_404(s, org_id)))


# --- pages ----------------------------------------------------------------------------------------
@bp.route("/s/<int:sitting_id>/item/<int:position>")
def agenda_item(sitting_id: int, position: int):
    """Opens the sitting at the item's start."""
    with runtime().db.session(readonly=True) as s:
        sitting_or_404(s, sitting_id)
        try:
            item = item_at(s, sitting_id, position)
        except NotFound as exc:
            abort(404, str(exc))
        return redirect(url_for("public.sitting_page", sitting_id=sitting_id, t=f"{item.start:.1f}"))


@bp.route("/live/<int:sitting_id>/console", methods=["GET", "POST"])
@require_role("clerk")
def console(sitting_id: int):
    """The clerks' console of a live sitting: "next item" ends the current agenda item and starts the
    next at the wall-clock time of the press (placed on the timeline like a pushed vote)."""
    rt = runtime()
    error = None
    if request.method == "POST":
        form = request.form
        try:
            with rt.db.session() as s:
                sitting = sitting_or_404(s, sitting_id)
                if not is_ongoing(sitting.status):
                    raise SanaripError(_("The sitting is not live: edit its agenda in the editor."))
                next_item(s, sitting_id, form.get("identifier", ""), form.get("title", ""), utcnow(),
                          form.get("link") or None)
        except NotFound:
            raise
        except SanaripError as exc:
            error = str(exc)
        else:
            _live_changed(sitting_id)
            rt.indexer.sitting_changed(sitting_id)  # hits from here on carry the new item
            return redirect(url_for("records.console", sitting_id=sitting_id))
    with rt.db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        items = agenda_dicts(s, sitting)
    return render_template("console.html", sitting=sitting, items=items, error=error), 400 if error else 200


def _faction_or_404(s, org_id: int) -> Organization:
    org = s.get(Organization, org_id)
    if org is None or org.classification not in FACTION_CLASSES:
        abort(404, _("No faction with id %(id)s.", id=org_id))
    return org


@bp.route("/p/<int:person_id>/record")
def person_record_page(person_id: int):
    with runtime().db.session(readonly=True) as s:
        person = person_or_404(s, person_id)
        record = deputy_record(s, person)
    # One url_for per sitting, not per vote: building a thousand links was most of the page's time.
    links = {sid: url_for("public.sitting_page", sitting_id=sid) for sid in {v["sitting"] for v in record["votes"]}}
    return render_template("deputy.html", person=person, record=record, sitting_links=links)


@bp.route("/f/<int:org_id>")
def faction_page(org_id: int):
    with runtime().db.session(readonly=True) as s:
        org = _faction_or_404(s, org_id)
        return render_template("faction.html", faction=org, record=faction_record(s, org))


def _range() -> tuple[date | None, date | None]:
    return date_arg("from"), date_arg("to")


@bp.route("/factions")
def compare_page():
    start, end = _range()
    with runtime().db.session(readonly=True) as s:
        rows = compare_factions(s, start, end)
    return render_template("factions.html", rows=rows, start=start, end=end,
                           csv_url=url_for("records.compare_csv", **{k: v for k, v in request.args.items()
                                                                    if k in ("from", "to") and v}))


COMPARE_FIELDS = ["faction", "members", "vote_events", "cohesion", "attendance", "speaking_seconds"]


@bp.route("/factions.csv")
def compare_csv():
    start, end = _range()
    with runtime().db.session(readonly=True) as s:
        rows = compare_factions(s, start, end)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COMPARE_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="factions.csv"'})

