"""Feeds: Atom for any search (follow a topic) and iCal for the published schedule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request, url_for
from sqlalchemy import select

from sanarip.models import Committee, Sitting, utcnow
from sanarip.sittings import SittingStatus
from web.deps import runtime, search_index
from web.views import committee_or_404, search_filters

bp = Blueprint("feeds", __name__)


# XML 1.0 forbids most control characters (NUL, ESC...); lxml refuses them, so they are dropped.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: str) -> str:
    return XML_ILLEGAL.sub("", value)


def _day(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@bp.route("/search.atom")
def search_atom():
    query = (request.args.get("q") or "").strip()
    result = search_index().search(query, search_filters(), page=1, sort="date")
    feed = FeedGenerator()
    feed.id(_xml_text(request.url))
    feed.title(_xml_text(f"Sanarip: {query}"))
    feed.link(href=_xml_text(request.url), rel="self")
    feed.link(href=_xml_text(url_for("public.search_page", _external=True, **request.args)), rel="alternate")
    feed.author(name="Sanarip")
    feed.generator("Sanarip")
    newest = max((h.day for h in result.hits), default=None)
    feed.updated(_day(newest) if newest else utcnow().replace(microsecond=0))
    for h in result.hits:
        link = request.url_root.rstrip("/") + h.link
        entry = feed.add_entry(order="append")
        entry.id(f"{link}#seg-{h.segment}")
        entry.title(_xml_text(f"{h.committee} {h.day}" + (f" — {h.speaker}" if h.speaker else "")))
        entry.link(href=link)
        entry.updated(_day(h.day))
        entry.content(_xml_text(h.snippet), type="html")
    return Response(feed.atom_str(), mimetype="application/atom+xml")


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1)."""
    out, current = [], b""
    for ch in line:
        enc = ch.encode()
        if len(current) + len(enc) > 75:
            out.append(current.decode())
            current = b" "
        current += enc
    out.append(current.decode())
    return "\r\n".join(out)


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@bp.route("/schedule.ics")
def schedule_ics():
    slug = request.args.get("committee")
    since = utcnow() - timedelta(days=30)
    with runtime().db.session(readonly=True) as s:
        q = select(Sitting).where(Sitting.scheduled_start.is_not(None), Sitting.scheduled_start >= since)
        if slug:
            q = q.join(Committee).where(Committee.id == committee_or_404(s, slug).id)
        sittings = list(s.scalars(q.order_by(Sitting.scheduled_start)))
        host = request.host.split(":")[0]
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sanarip//Committee schedule//EN",
                 "CALSCALE:GREGORIAN", f"X-WR-CALNAME:{_ics_text('Sanarip' + (f' {slug}' if slug else ''))}"]
        for st in sittings:
            end = st.scheduled_end or st.scheduled_start + timedelta(hours=2)
            lines += ["BEGIN:VEVENT", f"UID:sitting-{st.id}@{host}", f"DTSTAMP:{_stamp(st.created_at)}",
                      f"DTSTART:{_stamp(st.scheduled_start)}", f"DTEND:{_stamp(end)}",
                      f"SUMMARY:{_ics_text(st.committee.name + ': ' + (st.title or 'Sitting'))}",
                      f"URL:{url_for('live.live_page', sitting_id=st.id, _external=True)}",
                      f"STATUS:{'CANCELLED' if st.status == SittingStatus.FAILED else 'CONFIRMED'}", "END:VEVENT"]
        lines.append("END:VCALENDAR")
    body = "\r\n".join(_fold(line) for line in lines) + "\r\n"
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": 'inline; filename="schedule.ics"'})
