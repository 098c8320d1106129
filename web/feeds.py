"""Feeds: Atom for any search (follow a topic) and iCal for the published schedule."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, request, url_for
from sqlalchemy import select

from sanarip.models import Committee, Sitting, utcnow
from web.deps import runtime, search_index
from web.views import committee_or_404, search_filters

bp = Blueprint("feeds", __name__)
ATOM = "http://www.w3.org/2005/Atom"


@bp.route("/search.atom")
def search_atom():
    query = (request.args.get("q") or "").strip()
    result = search_index().search(query, search_filters(), page=1, sort="date")
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"Sanarip: {query}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = request.url
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=request.url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=url_for("public.search_page", _external=True,
                                                                         **request.args))
    newest = max((h.day for h in result.hits), default=None)
    updated = f"{newest}T00:00:00Z" if newest else utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "Sanarip"
    for h in result.hits:
        link = request.url_root.rstrip("/") + h.link
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{h.committee} {h.day}" + (f" — {h.speaker}" if h.speaker
                                                                                      else "")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{link}#seg-{h.segment}"
        ET.SubElement(entry, f"{{{ATOM}}}link", href=link)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = f"{h.day}T00:00:00Z"
        ET.SubElement(entry, f"{{{ATOM}}}content", type="html").text = h.snippet
    body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")
    return Response(body, mimetype="application/atom+xml")


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
                      f"STATUS:{'CANCELLED' if st.status == 'failed' else 'CONFIRMED'}", "END:VEVENT"]
        lines.append("END:VCALENDAR")
    body = "\r\n".join(_fold(line) for line in lines) + "\r\n"
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": 'inline; filename="schedule.ics"'})
