"""A deputy's and a faction's record: the figures civil society monitors, each with how it is computed.

Attendance: of the vote events that list a deputy (the e-voting system lists every member, absent
ones as ``absent``), the share at which they voted or were recorded present. Cohesion: the Rice
index of a faction in a vote event, |yes − no| / (yes + no) over its members' votes, averaged
over the vote events in which its members cast yes or no.

The faction figures read ``vote_group_tally`` (one row per faction per vote event, written with the
votes), and a deputy's faction majority is that row's result: a page aggregates thousands of rows,
not millions of votes, and decodes no JSON.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from sanarip.models import (
    Membership,
    Organization,
    Person,
    Sitting,
    TranscriptSegment,
    Vote,
    VoteEvent,
    VoteGroupTally,
)
from sanarip.popolo import FACTION_CLASSES
from sanarip.votes import PRESENT

MAX_VOTES_LISTED = 1000

HOW = {
    "speaking_time": "Sum of the durations of the transcript lines attributed to the person.",
    "attendance": "Share of the vote events listing the deputy at which they voted or were recorded present.",
    "faction_majority": "The option most members of the deputy's faction chose in that vote event.",
    "cohesion": "Rice index |yes − no| / (yes + no) of the faction's votes per vote event, averaged.",
    "faction_attendance": "Share of the faction's members' listed votes that are not 'absent'.",
    "faction_speaking_time": "Sum of the durations of transcript lines attributed to the faction's members.",
}


def _present():
    return func.sum(case((Vote.option.in_(PRESENT), 1), else_=0))


def deputy_record(s: Session, person: Person) -> dict[str, Any]:
    speeches = s.execute(select(TranscriptSegment.sitting_id, Sitting.title, Sitting.started_at,
                                func.sum(TranscriptSegment.end - TranscriptSegment.start), func.count())
                         .join(Sitting, Sitting.id == TranscriptSegment.sitting_id)
                         .where(TranscriptSegment.speaker_id == person.id)
                         .group_by(TranscriptSegment.sitting_id, Sitting.title, Sitting.started_at)
                         .order_by(Sitting.started_at.desc())).all()
    listed, present = s.execute(select(func.count(), _present()).where(Vote.person_id == person.id)).one()
    # The newest vote events first, each probed for the deputy's vote, until the page is full: about
    # MAX_VOTES_LISTED probes, where joining every vote of five years and sorting them cost 20,000.
    newest = (select(VoteEvent.id).where(exists().where(Vote.vote_event_id == VoteEvent.id,
                                                        Vote.person_id == person.id))
              .order_by(VoteEvent.start_date.desc(), VoteEvent.id.desc()).limit(MAX_VOTES_LISTED).subquery())
    tally = VoteGroupTally
    rows = s.execute(select(VoteEvent.sitting_id, VoteEvent.identifier, VoteEvent.motion_identifier,
                            VoteEvent.motion_text, VoteEvent.start_date, VoteEvent.media_time, VoteEvent.result,
                            Vote.option, tally.result)
                     .join(newest, newest.c.id == VoteEvent.id)
                     .join(Vote, and_(Vote.vote_event_id == VoteEvent.id, Vote.person_id == person.id))
                     .outerjoin(tally, and_(tally.vote_event_id == Vote.vote_event_id, tally.group_id == Vote.group_id))
                     .order_by(VoteEvent.start_date.desc(), VoteEvent.id.desc())).all()
    votes = [{"sitting": sitting_id, "identifier": identifier, "motion": motion_identifier or motion_text,
              "start_date": when.isoformat(), "media_time": media_time, "result": result, "option": option,
              "faction_majority": majority}
             for sitting_id, identifier, motion_identifier, motion_text, when, media_time, result, option, majority
             in rows]
    memberships = s.execute(select(Membership, Organization).join(Organization)
                            .where(Membership.person_id == person.id)
                            .order_by(Membership.start_date, Membership.id)).all()
    return {
        "id": person.id, "name": person.name,
        "speaking_time": {"seconds": round(sum(r[3] or 0 for r in speeches), 1), "how": HOW["speaking_time"]},
        "speeches": [{"sitting": sid, "title": title, "date": started.date().isoformat() if started else None,
                      "seconds": round(secs or 0, 1), "segments": n} for sid, title, started, secs, n in speeches],
        "attendance": {"share": round(present / listed, 4) if listed else None, "present": present or 0,
                       "vote_events": listed, "how": HOW["attendance"]},
        "votes": votes, "votes_total": listed, "faction_majority_how": HOW["faction_majority"],
        "memberships": [{"organization": org.name, "organization_id": org.id, "classification": org.classification,
                         "role": m.role, "start_date": m.start_date, "end_date": m.end_date}
                        for m, org in memberships],
    }


def _bounds(start: date | None, end: date | None) -> list:
    out = []
    if start:
        out.append(VoteGroupTally.start_date >= datetime.combine(start, time(0), UTC))
    if end:
        out.append(VoteGroupTally.start_date < datetime.combine(end + timedelta(days=1), time(0), UTC))
    return out


def _cohesion(s: Session, org_ids: list[int], start: date | None = None,
              end: date | None = None) -> dict[int, tuple[float | None, int, int, int]]:
    """Per faction: (mean Rice index, vote events, listed votes, present votes)."""
    t = VoteGroupTally
    decided = t.yes + t.no
    rice = case((decided > 0, func.abs(t.yes - t.no) * 1.0 / decided), else_=None)
    out = {}
    for g, mean, events, listed, present in s.execute(
            select(t.group_id, func.avg(rice), func.count(), func.sum(t.listed), func.sum(t.present))
            .where(t.group_id.in_(org_ids), *_bounds(start, end)).group_by(t.group_id)):
        out[g] = (round(mean, 4) if mean is not None else None, events, listed or 0, present or 0)
    return out


def _sittings_in(q, start: date | None, end: date | None):
    """``q`` (over transcript segments) limited to the sittings that started in the date range."""
    if start or end:
        q = q.join(Sitting, Sitting.id == TranscriptSegment.sitting_id)
        if start:
            q = q.where(Sitting.started_at >= datetime.combine(start, time(0), UTC))
        if end:
            q = q.where(Sitting.started_at < datetime.combine(end + timedelta(days=1), time(0), UTC))
    return q


def _speaking(s: Session, person_ids: list[int], start: date | None = None, end: date | None = None) -> float:
    if not person_ids:
        return 0.0
    q = (select(func.sum(TranscriptSegment.end - TranscriptSegment.start))
         .where(TranscriptSegment.speaker_id.in_(person_ids)))
    return round(s.scalar(_sittings_in(q, start, end)) or 0.0, 1)


def _overlapping(start: date | None, end: date | None) -> list:
    """Memberships that overlap the date range (open ends count as overlapping)."""
    out = []
    if end:
        out.append((Membership.start_date.is_(None)) | (Membership.start_date <= end.isoformat()))
    if start:
        out.append((Membership.end_date.is_(None)) | (Membership.end_date >= start.isoformat()))
    return out


def _members(s: Session, org_id: int, start: date | None = None, end: date | None = None) -> list:
    q = (select(Membership, Person).join(Person, Person.id == Membership.person_id)
         .where(Membership.organization_id == org_id, *_overlapping(start, end)).order_by(Person.name))
    return s.execute(q).all()


def _members_and_speaking(s: Session, org_ids: list[int], start: date | None,
                          end: date | None) -> dict[int, tuple[int, float]]:
    """Per faction: (members in the range, their speaking seconds in it), two queries for all factions."""
    members = (select(Membership.organization_id.label("org"), Membership.person_id.label("person"))
               .where(Membership.organization_id.in_(org_ids), *_overlapping(start, end)).distinct().subquery())
    counts = dict(s.execute(select(members.c.org, func.count()).group_by(members.c.org)).all())
    q = (select(members.c.org, func.sum(TranscriptSegment.end - TranscriptSegment.start))
         .join(members, members.c.person == TranscriptSegment.speaker_id).group_by(members.c.org))
    seconds = dict(s.execute(_sittings_in(q, start, end)).all())
    return {org: (counts.get(org, 0), round(seconds.get(org) or 0.0, 1)) for org in org_ids}


def faction_record(s: Session, org: Organization) -> dict[str, Any]:
    members = _members(s, org.id)
    mean, events, listed, present = _cohesion(s, [org.id]).get(org.id, (None, 0, 0, 0))
    t = VoteGroupTally
    per_event = s.execute(select(VoteEvent.identifier, VoteEvent.motion_identifier, VoteEvent.start_date, t.yes, t.no)
                          .join(t, t.vote_event_id == VoteEvent.id).where(t.group_id == org.id)
                          .order_by(t.start_date.desc()).limit(MAX_VOTES_LISTED)).all()
    return {
        "id": org.id, "name": org.name, "classification": org.classification,
        "members": [{"id": p.id, "name": p.name, "start_date": m.start_date, "end_date": m.end_date, "role": m.role}
                    for m, p in members],
        "cohesion": {"mean": mean, "vote_events": events, "how": HOW["cohesion"],
                     "per_vote_event": [{"identifier": ident, "motion": motion, "start_date": when.isoformat(),
                                         "rice": round(abs(y - n) / (y + n), 4) if y + n else None}
                                        for ident, motion, when, y, n in per_event]},
        "attendance": {"share": round(present / listed, 4) if listed else None, "how": HOW["faction_attendance"]},
        "speaking_time": {"seconds": _speaking(s, [p.id for _, p in members]), "how": HOW["faction_speaking_time"]},
    }


def compare_factions(s: Session, start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
    """Every faction's figures side by side over a date range (vote events and sittings in it)."""
    orgs = list(s.scalars(select(Organization).where(Organization.classification.in_(FACTION_CLASSES))
                          .order_by(Organization.name)))
    stats = _cohesion(s, [o.id for o in orgs], start, end)
    people = _members_and_speaking(s, [o.id for o in orgs], start, end)
    rows = []
    for org in orgs:
        mean, events, listed, present = stats.get(org.id, (None, 0, 0, 0))
        members, seconds = people[org.id]
        rows.append({"id": org.id, "faction": org.name, "members": members, "vote_events": events,
                     "cohesion": mean, "attendance": round(present / listed, 4) if listed else None,
                     "speaking_seconds": seconds})
    return rows
