"""Shared view helpers: parameter parsing and small queries used by pages and the API."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import abort, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.agenda import MAX_IDENTIFIER as MAX_AGENDA_IDENTIFIER
from sanarip.clips import RangeError, parse_range
from sanarip.languages import is_language
from sanarip.limits import MAX_ID, MAX_MEDIA_SECONDS
from sanarip.models import Committee, Person, Sitting, TranscriptSegment
from sanarip.stenogram import parse_clock
from search import Filters
from web.deps import runtime

# The query parameters a search URL keeps (pages, feeds, the API's next links): anything else a
# client sends (``_external``, ``_method`` …) never reaches url_for.
SEARCH_PARAMS = ("q", "committee", "from", "to", "speaker", "language", "official", "sort", "agenda")


DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
OFFICIAL_VALUES = ("", "1", "true", "on", "0", "false", "off")


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on SANARIP_BASE_URL's origin: the Host header is the client's to choose."""
    base = urlsplit(runtime().settings.base_url)
    return f"{base.scheme}://{base.netloc}{url_for(endpoint, **values)}"


def search_args() -> dict[str, str]:
    """The request's search parameters that are set, and only those."""
    return {k: request.args[k] for k in SEARCH_PARAMS if request.args.get(k)}


def int_arg(name: str, default: int | None, lo: int = 1, hi: int = 10_000) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, _("'%(name)s' must be a whole number", name=name))
    if not lo <= value <= hi:
        abort(400, _("'%(name)s' must be between %(lo)s and %(hi)s", name=name, lo=lo, hi=hi))
    return value


def time_arg(name: str = "t") -> float | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = parse_clock(raw)
    except ValueError:
        abort(400, _("'%(name)s' must be seconds or a clock value, such as 754.2, 12:34 or 1:02:03", name=name))
    if not math.isfinite(value) or not 0 <= value <= MAX_MEDIA_SECONDS:
        abort(400, _("'%(name)s' must be a moment from 0 to %(max)s s, such as 754.2, 12:34 or 1:02:03", name=name,
                      max=round(MAX_MEDIA_SECONDS)))
    return value


def moment_or_range(name: str = "t") -> tuple[float, float | None]:
    """``?t=`` as a moment (end None) or a range ``START-END`` (the player stops at END)."""
    raw = request.args.get(name, "")
    if "-" not in raw.strip().lstrip("-"):
        return time_arg(name) or 0.0, None
    try:
        rng = parse_range(raw)
    except RangeError as exc:
        abort(400, _("'%(name)s': %(error)s", name=name, error=str(exc)))
    return rng.start, rng.end


def date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        if not DATE_RE.fullmatch(raw):  # fromisoformat also takes 20260301 and 2026-W09-1
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, _("'%(name)s' must be a date such as 2026-03-01", name=name))


def search_filters() -> Filters:
    official = request.args.get("official") or ""
    if official not in OFFICIAL_VALUES:
        abort(400, _("'official' must be 1 (official versions only) or 0"))
    language = request.args.get("language") or None
    if language and not is_language(language):
        abort(400, _("'language' must be a language code such as ky, ru, en"))
    agenda = (request.args.get("agenda") or "").strip() or None
    if agenda and len(agenda) > MAX_AGENDA_IDENTIFIER:
        abort(400, _("'agenda' must be an agenda item's identifier of at most %(n)s characters",
                     n=MAX_AGENDA_IDENTIFIER))
    return Filters(committee=request.args.get("committee") or None, date_from=date_arg("from"),
                   date_to=date_arg("to"), speaker=request.args.get("speaker") or None,
                   language=language,
                   official_only=official in ("1", "true", "on"), agenda=agenda)


def facet_links(facets: dict[str, dict[str, int]]) -> dict[str, list[tuple[str, int, str]]]:
    """Each facet value with its count and the search URL that narrows to it (back to page 1)."""
    path = url_for("public.search_page")
    out = {}
    for name, counts in facets.items():
        replaced = ("from", "to", "page") if name == "year" else (name, "page")
        rest = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in replaced])
        prefix = f"{path}?{rest}&" if rest else f"{path}?"
        out[name] = [(key, n, prefix + urlencode({"from": f"{key}-01-01", "to": f"{key}-12-31"} if name == "year"
                                                  else {name: key}))
                     for key, n in counts.items()]
    return out


def sort_arg() -> str:
    sort = request.args.get("sort") or "relevance"
    if sort not in ("relevance", "date"):
        abort(400, _("'sort' must be relevance or date"))
    return sort


def version_arg() -> int | None:
    """``?v=N``: a publication number, or None for the newest."""
    return int_arg("v", None, 1, MAX_ID)


def sitting_or_404(s: Session, sitting_id: int) -> Sitting:
    sitting = s.get(Sitting, sitting_id)
    if sitting is None:
        abort(404, _("There is no sitting number %(id)s.", id=sitting_id))
    return sitting


def committee_or_404(s: Session, slug: str) -> Committee:
    c = s.scalar(select(Committee).where(Committee.slug == slug))
    if c is None:
        abort(404, _("There is no committee '%(slug)s'.", slug=slug))
    return c


def person_or_404(s: Session, person_id: int) -> Person:
    p = s.get(Person, person_id)
    if p is None:
        abort(404, _("There is no person number %(id)s.", id=person_id))
    return p


def speaking_time(s: Session, person_id: int) -> list[tuple[Sitting, float, int]]:
    """(sitting, seconds spoken, segments) for a person, newest sitting first (working copy)."""
    rows = s.execute(
        select(TranscriptSegment.sitting_id, func.sum(TranscriptSegment.end - TranscriptSegment.start), func.count())
        .where(TranscriptSegment.speaker_id == person_id).group_by(TranscriptSegment.sitting_id)
    ).all()
    sittings = {st.id: st for st in s.scalars(select(Sitting).where(Sitting.id.in_([r[0] for r in rows])))}
    out = [(sittings[sid], float(secs or 0), n) for sid, secs, n in rows]
    return sorted(out, key=lambda r: r[0].id, reverse=True)
