"""Feeds: Atom for any search (follow a topic), a deputy and a committee, and iCal for the published schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request
from sqlalchemy import select

from sanarip.clock import day_start
from sanarip.models import Committee, Sitting, utcnow
from sanarip.sittings import ARCHIVED, SittingStatus
from sanarip.texthygiene import xml_text as _xml_text
from sanarip.transcripts import public_stenogram
from web.deps import runtime, search_index
from web.views import committee_or_404, external_url, person_or_404, search_args, search_filters, speaking_time

bp = Blueprint("feeds", __name__)


def _day(day: str) -> datetime:
    """A hit's local day as the instant it began (the feed's dates are the sitting's local day)."""
    return day_start(date.fromisoformat(day))


@bp.route("/search.atom")
def search_atom():
    query = (request.args.get("q") or "").strip()
    result = search_index().search(query, search_filters(), page=1, sort="date")
    feed = FeedGenerator()
    self_url = external_url("feeds.search_atom", **search_args())
    feed.id(self_url)
    feed.title(_xml_text(f"Sanarip: {query}"))
    feed.link(href=self_url, rel="self")
    feed.link(href=external_url("public.search_page", **search_args()), rel="alternate")
    feed.author(name="Sanarip")
    feed.generator("Sanarip")
    newest = max((h.day for h in result.hits), default=None)
    feed.updated(_day(newest) if newest else utcnow().replace(microsecond=0))
    for h in result.hits:
        link = external_url("public.home").rstrip("/") + h.link
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
        host = urlsplit(runtime().settings.base_url).hostname
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Sanarip//Committee schedule//EN",
                 "CALSCALE:GREGORIAN", f"X-WR-CALNAME:{_ics_text('Sanarip' + (f' {slug}' if slug else ''))}"]
        for st in sittings:
            end = st.scheduled_end or st.scheduled_start + timedelta(hours=2)
            lines += ["BEGIN:VEVENT", f"UID:sitting-{st.id}@{host}", f"DTSTAMP:{_stamp(st.created_at)}",
                      f"DTSTART:{_stamp(st.scheduled_start)}", f"DTEND:{_stamp(end)}",
                      f"SUMMARY:{_ics_text(st.committee.name + ': ' + (st.title or 'Sitting'))}",
                      f"URL:{external_url('live.live_page', sitting_id=st.id)}",
                      f"STATUS:{'CANCELLED' if st.status == SittingStatus.FAILED else 'CONFIRMED'}", "END:VEVENT"]
        lines.append("END:VCALENDAR")
    body = "\r\n".join(_fold(line) for line in lines) + "\r\n"
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": 'inline; filename="schedule.ics"'})


FEED_ENTRIES = 50


def _feed(self_url: str, alternate: str, title: str) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(_xml_text(title))
    feed.link(href=self_url, rel="self")
    feed.link(href=alternate, rel="alternate")
    feed.author(name="Sanarip")
    feed.generator("Sanarip")
    return feed


def _when(st: Sitting) -> datetime:
    return (st.ended_at or st.started_at or st.scheduled_start or st.created_at).replace(microsecond=0)


@bp.route("/p/<int:person_id>.atom")
def person_atom(person_id: int):
    """A deputy's newest public passages (what the public sees of each sitting), newest sitting first."""
    with runtime().db.session(readonly=True) as s:
        person = person_or_404(s, person_id)
        feed = _feed(external_url("feeds.person_atom", person_id=person_id),
                     external_url("public.person_page", person_id=person_id), f"Sanarip: {person.name}")
        newest = None
        count = 0
        for st, _secs, _n in speaking_time(s, person_id):
            steno = public_stenogram(s, st)
            for seg in steno.segments:
                if seg.speaker_id != person_id or count >= FEED_ENTRIES:
                    continue
                link = external_url("public.sitting_page", sitting_id=st.id, t=f"{seg.start:.1f}")
                entry = feed.add_entry(order="append")
                entry.id(f"{external_url('public.sitting_page', sitting_id=st.id)}#seg-{seg.id}")
                entry.title(_xml_text(f"{st.committee.display_name()} {steno.date or ''} — {person.name}"))
                entry.link(href=link)
                entry.updated(_when(st))
                entry.content(_xml_text(seg.text), type="text")
                newest = max(newest or _when(st), _when(st))
                count += 1
        feed.updated(newest or utcnow().replace(microsecond=0))
    return Response(feed.atom_str(), mimetype="application/atom+xml")


@bp.route("/c/<slug>.atom")
def committee_atom(slug: str):
    """A committee's sittings that have a record (recorded, transcribed, published), newest first."""
    with runtime().db.session(readonly=True) as s:
        c = committee_or_404(s, slug)
        feed = _feed(external_url("feeds.committee_atom", slug=slug), external_url("public.committee_page", slug=slug),
                     f"Sanarip: {c.display_name()}")
        sittings = list(s.scalars(select(Sitting).where(Sitting.committee_id == c.id, Sitting.status.in_(ARCHIVED))
                                  .order_by(Sitting.started_at.desc().nullslast(), Sitting.id.desc())
                                  .limit(FEED_ENTRIES)))
        for st in sittings:
            link = external_url("public.sitting_page", sitting_id=st.id)
            entry = feed.add_entry(order="append")
            entry.id(link)
            entry.title(_xml_text(f"{c.display_name()}: {st.title or st.id}"))
            entry.link(href=link)
            entry.updated(_when(st))
            entry.content(_xml_text(f"{st.title} ({st.status}, {int(st.duration // 60)} min)"), type="text")
        feed.updated(max((_when(st) for st in sittings), default=utcnow().replace(microsecond=0)))
    return Response(feed.atom_str(), mimetype="application/atom+xml")
