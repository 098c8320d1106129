"""The open-data JSON API, ``/api/v1``: committees, sittings, transcripts, search, persons, exports.

Lists are paginated as ``{"items": [...], "next": url | null}``; GET responses allow any origin.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from flask import Blueprint, Response, abort, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from sanarip.agenda import agenda_of, item_for_time
from sanarip.catalog import committee_dict, person_dict
from sanarip.errors import NotFound
from sanarip.models import Committee, Person, Sitting
from sanarip.sittings import SittingStatus, sitting_dict
from sanarip.stenogram import to_json
from sanarip.texthygiene import spreadsheet_cell
from sanarip.transcripts import public_stenogram
from web.deps import runtime, search_index
from web.openapi import openapi_document
from web.views import (
    committee_or_404,
    external_url,
    int_arg,
    person_or_404,
    search_args,
    search_filters,
    sitting_or_404,
    sort_arg,
    version_arg,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PER_PAGE = 50


@bp.after_request
def cors(resp: Response) -> Response:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def page_of(query, to_dict, endpoint: str, **params):
    """A page of ``query`` as ``{"items", "next"}``."""
    page = int_arg("page", 1)
    per_page = int_arg("per_page", PER_PAGE, 1, 500)
    with runtime().db.session(readonly=True) as s:
        rows = list(s.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
        items = [to_dict(r) for r in rows[:per_page]]
    nxt = external_url(endpoint, page=page + 1, per_page=per_page, **params) if len(rows) > per_page else None
    return jsonify({"items": items, "next": nxt})


@bp.route("/committees")
def committees():
    return page_of(select(Committee).order_by(Committee.slug), committee_dict, "api.committees")


@bp.route("/committees/<slug>")
def committee(slug: str):
    with runtime().db.session(readonly=True) as s:
        return jsonify(committee_dict(committee_or_404(s, slug)))


@bp.route("/sittings")
def sittings():
    query = select(Sitting).order_by(Sitting.id)
    params = {}
    if request.args.get("committee"):
        with runtime().db.session(readonly=True) as s:
            c = committee_or_404(s, request.args["committee"])
        query = query.where(Sitting.committee_id == c.id)
        params["committee"] = c.slug
    if request.args.get("status"):
        if request.args["status"] not in set(SittingStatus):
            abort(400, _("Unknown status; use one of: %(statuses)s.", statuses=", ".join(SittingStatus)))
        query = query.where(Sitting.status == request.args["status"])
        params["status"] = request.args["status"]
    return page_of(query, sitting_dict, "api.sittings", **params)


@bp.route("/sittings/<int:sitting_id>")
def sitting(sitting_id: int):
    with runtime().db.session(readonly=True) as s:
        st = sitting_or_404(s, sitting_id)
        data = sitting_dict(st)
        data["links"] = {"page": external_url("public.sitting_page", sitting_id=st.id),
                         "transcript": external_url("api.transcript", sitting_id=st.id),
                         "playlist": external_url("public.playlist", sitting_id=st.id)}
        return jsonify(data)


@bp.route("/sittings/<int:sitting_id>/transcript")
def transcript(sitting_id: int):
    """What the public sees, with words and their times (the JSON export schema)."""
    version = version_arg()
    with runtime().db.session(readonly=True) as s:
        sitting_obj = sitting_or_404(s, sitting_id)
        try:
            body = to_json(public_stenogram(s, sitting_obj, version))
        except NotFound:
            abort(404, _("Sitting %(id)s has no published version %(version)s.", id=sitting_id, version=version))
    return Response(body, mimetype="application/json")


@bp.route("/search")
def search():
    query = request.args.get("q", "")
    if not query.strip():
        abort(400, _("'q' is required: the words to search for"))
    page = int_arg("page", 1, 1, 500)
    result = search_index().search(query, search_filters(), page=page, sort=sort_arg())
    data = result.to_dict()
    data["items"] = data.pop("hits")
    data["next"] = external_url("api.search", page=page + 1, **search_args()) if page < result.pages else None
    return jsonify(data)


@bp.route("/persons")
def persons():
    return page_of(select(Person).order_by(Person.name), person_dict, "api.persons")


@bp.route("/persons/<int:person_id>")
def person(person_id: int):
    from web.views import speaking_time

    with runtime().db.session(readonly=True) as s:
        p = person_or_404(s, person_id)
        data = person_dict(p)
        data["sittings"] = [{"sitting": st.id, "seconds": round(secs, 1), "segments": n}
                            for st, secs, n in speaking_time(s, person_id)]
        return jsonify(data)


EXPORT_FIELDS = ["sitting", "date", "segment", "start", "end", "speaker", "language", "official", "agenda_item",
                 "text"]


def _export_rows(slug: str) -> Iterator[dict]:
    with runtime().db.session(readonly=True) as s:
        c = committee_or_404(s, slug)
        for st in s.scalars(select(Sitting).where(Sitting.committee_id == c.id).order_by(Sitting.id)):
            steno = public_stenogram(s, st)
            items = agenda_of(s, st.id)
            for seg in steno.segments:
                item = item_for_time(items, st.duration or 0.0, seg.start)
                yield {"sitting": st.id, "date": steno.date, "segment": seg.id, "start": seg.start, "end": seg.end,
                       "speaker": seg.speaker, "language": seg.language,
                       "official": steno.publication is not None,
                       "agenda_item": f"{item.identifier} — {item.title}" if item else None, "text": seg.text}


@bp.route("/committees/<slug>/export.jsonl")
def export_jsonl(slug: str):
    rows = list(_export_rows(slug))  # read inside the request, then stream
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return Response(body, mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{slug}.jsonl"'})


@bp.route("/committees/<slug>/export.csv")
def export_csv(slug: str):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    # A cell a spreadsheet would run as a formula (=HYPERLINK(…) said in a sitting) is shown as text.
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in _export_rows(slug))
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{slug}.csv"'})


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document(external_url("api.committees").rsplit("/", 1)[0]))
