"""Popolo people and groups: import (EveryPolitician-shaped JSON) and open-data export.

Import is idempotent and all-or-nothing: each record's Popolo ``id`` is kept as an identifier of
scheme ``popolo``; a later import finds persons and organizations by it, then by any of their
``identifiers``. A malformed record or an unknown reference raises SanaripError naming the
record by its list and index, and the caller's transaction stores nothing. An organization of
classification ``committee`` *is* a Sanarip committee: the one whose slug an identifier of scheme
``sanarip`` names, else a new one whose slug derives from its id.

Export ids are Sanarip's own (``person/12``, ``organization/3`` …), stable across imports; the
Popolo ids imported stay among each record's ``identifiers``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sanarip.catalog import SLUG_RE, add_committee
from sanarip.errors import SanaripError
from sanarip.models import (
    Committee,
    Identifier,
    Membership,
    Organization,
    Person,
    Post,
    Sitting,
    TranscriptSegment,
    Vote,
    VoteEvent,
)
from sanarip.texthygiene import checked_text

POPOLO = "popolo"
SANARIP = "sanarip"
COMMITTEE = "committee"
FACTION_CLASSES = ("faction", "party", "parliamentary group")
DATE_RE = re.compile(r"^\d{4}(-\d{2}){0,2}$")


class PopoloError(SanaripError):
    """A Popolo document that cannot be imported (the message names the record)."""


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    updated: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})

    def lines(self) -> list[str]:
        return [f"{kind}: {self.added[kind]} added, {self.updated[kind]} updated" for kind in KINDS]


KINDS = ("persons", "organizations", "posts", "memberships")


def _text(rec: dict, key: str, where: str, required: bool = False, limit: int = 300) -> str | None:
    value = rec.get(key)
    if value is None or value == "":
        if required:
            raise PopoloError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise PopoloError(f"{where}: '{key}' must be a text of at most {limit} characters")
    try:
        return checked_text(value, key).strip()
    except SanaripError as exc:
        raise PopoloError(f"{where}: {exc}") from None


def _date(rec: dict, key: str, where: str) -> str | None:
    value = _text(rec, key, where, limit=10)
    if value is not None and not DATE_RE.match(value):
        raise PopoloError(f"{where}: '{key}' must be an ISO date (YYYY, YYYY-MM or YYYY-MM-DD), got {value!r}")
    return value


def _identifiers(rec: dict, where: str) -> list[tuple[str, str]]:
    """The record's (scheme, identifier) pairs, its Popolo id first."""
    out: list[tuple[str, str]] = []
    own = _text(rec, "id", where)
    if own:
        out.append((POPOLO, own))
    listed = rec.get("identifiers") or []
    if not isinstance(listed, list):
        raise PopoloError(f"{where}: 'identifiers' must be a list")
    for j, entry in enumerate(listed):
        if not isinstance(entry, dict):
            raise PopoloError(f"{where}.identifiers[{j}]: expected an object")
        value = _text(entry, "identifier", f"{where}.identifiers[{j}]", required=True)
        scheme = _text(entry, "scheme", f"{where}.identifiers[{j}]", limit=100) or ""
        if (scheme, value) not in out:
            out.append((scheme, value))
    return out


def _records(doc: dict, key: str) -> list[dict]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise PopoloError(f"'{key}' must be a list")
    for i, rec in enumerate(value):
        if not isinstance(rec, dict):
            raise PopoloError(f"{key}[{i}]: expected an object")
    return value


def find_by_identifiers(s: Session, column: Any, idents: list[tuple[str, str]]) -> int | None:
    """The person or organization (``column``: Identifier.person_id or .organization_id) with these identifiers."""
    for scheme, value in idents:  # the Popolo id first, then any other identifier
        found = s.scalar(select(column).where(Identifier.identifier == value, Identifier.scheme == scheme,
                                              column.is_not(None)).limit(1))
        if found is not None:
            return found
    return None


def _keep_identifiers(s: Session, idents: list[tuple[str, str]], person_id: int | None = None,
                      organization_id: int | None = None) -> bool:
    owner = Identifier.person_id == person_id if person_id else Identifier.organization_id == organization_id
    have = {tuple(r) for r in s.execute(select(Identifier.scheme, Identifier.identifier).where(owner))}
    new = [pair for pair in idents if pair not in have]
    s.add_all(Identifier(person_id=person_id, organization_id=organization_id, scheme=scheme, identifier=value)
              for scheme, value in new)
    return bool(new)


def _slug_for(s: Session, popolo_id: str, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", (popolo_id or name).casefold()).strip("-")[:56] or "committee"
    slug, n = base, 1
    while s.scalar(select(Committee.id).where(Committee.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def import_popolo(s: Session, doc: Any) -> ImportReport:
    """Load ``persons``, ``organizations``, ``posts`` and ``memberships`` into the session's transaction."""
    if not isinstance(doc, dict):
        raise PopoloError("a Popolo document is a JSON object with 'persons', 'organizations', 'memberships'")
    report = ImportReport()
    people: dict[str, int] = {}
    orgs: dict[str, int] = {}
    for i, rec in enumerate(_records(doc, "persons")):
        where = f"persons[{i}]"
        name = _text(rec, "name", where, required=True)
        idents = _identifiers(rec, where)
        found = find_by_identifiers(s, Identifier.person_id, idents)
        person = s.get(Person, found) if found else None
        if person is None:
            person = Person(name=" ".join(name.split()))
            s.add(person)
            s.flush()
            report.added["persons"] += 1
            _keep_identifiers(s, idents, person_id=person.id)
        else:
            changed = person.name != " ".join(name.split())
            person.name = " ".join(name.split())
            if _keep_identifiers(s, idents, person_id=person.id) or changed:
                report.updated["persons"] += 1
        if rec.get("id"):
            people[rec["id"]] = person.id
    parents: list[tuple[Organization, str, str]] = []
    for i, rec in enumerate(_records(doc, "organizations")):
        where = f"organizations[{i}]"
        name = _text(rec, "name", where, required=True)
        classification = (_text(rec, "classification", where, limit=64) or "organization").casefold()
        idents = _identifiers(rec, where)
        values = {"name": name, "classification": classification,
                  "founding_date": _date(rec, "founding_date", where),
                  "dissolution_date": _date(rec, "dissolution_date", where)}
        found = find_by_identifiers(s, Identifier.organization_id, idents)
        org = s.get(Organization, found) if found else None
        if org is None:
            org = Organization(**values)
            s.add(org)
            s.flush()
            report.added["organizations"] += 1
            _keep_identifiers(s, idents, organization_id=org.id)
        else:
            changed = any(getattr(org, k) != v for k, v in values.items())
            for k, v in values.items():
                setattr(org, k, v)
            if _keep_identifiers(s, idents, organization_id=org.id) or changed:
                report.updated["organizations"] += 1
        if classification == COMMITTEE and org.committee_id is None:
            org.committee_id = _committee_for(s, idents, name, rec.get("id") or "", where)
        if rec.get("parent_id"):
            parents.append((org, rec["parent_id"], where))
        if rec.get("id"):
            orgs[rec["id"]] = org.id
    s.flush()
    for org, parent, where in parents:
        org.parent_id = _org_ref(s, orgs, parent, f"{where}.parent_id")
    posts = _import_posts(s, doc, orgs, report)
    _import_memberships(s, doc, people, orgs, posts, report)
    s.flush()
    refresh_factions(s, set(people.values()))
    return report


def _committee_for(s: Session, idents: list[tuple[str, str]], name: str, popolo_id: str, where: str) -> int:
    slug = next((value for scheme, value in idents if scheme == SANARIP), None)
    if slug is not None:
        committee = s.scalar(select(Committee).where(Committee.slug == slug))
        if committee is None:
            raise PopoloError(f"{where}: no Sanarip committee with slug {slug!r} (identifier of scheme 'sanarip')")
        taken = s.scalar(select(Organization.id).where(Organization.committee_id == committee.id))
        if taken is not None:
            raise PopoloError(f"{where}: committee {slug!r} is already organization/{taken}")
        return committee.id
    slug = _slug_for(s, popolo_id, name)
    assert SLUG_RE.match(slug)
    return add_committee(s, slug, name).id


def _person_ref(s: Session, people: dict[str, int], ref: Any, where: str) -> int:
    if isinstance(ref, str) and ref in people:
        return people[ref]
    found = find_by_identifiers(s, Identifier.person_id, [(POPOLO, ref)]) if isinstance(ref, str) else None
    if found is None:
        raise PopoloError(f"{where}: unknown person {ref!r}")
    return found


def _org_ref(s: Session, orgs: dict[str, int], ref: Any, where: str) -> int:
    if isinstance(ref, str) and ref in orgs:
        return orgs[ref]
    found = find_by_identifiers(s, Identifier.organization_id, [(POPOLO, ref)]) if isinstance(ref, str) else None
    if found is None:
        raise PopoloError(f"{where}: unknown organization {ref!r}")
    return found


def _import_posts(s: Session, doc: dict, orgs: dict[str, int], report: ImportReport) -> dict[str, int]:
    posts: dict[str, int] = {}
    for i, rec in enumerate(_records(doc, "posts")):
        where = f"posts[{i}]"
        popolo_id = _text(rec, "id", where, required=True)
        values = {"label": _text(rec, "label", where, required=True), "role": _text(rec, "role", where, limit=100),
                  "organization_id": _org_ref(s, orgs, rec.get("organization_id"), f"{where}.organization_id")}
        post = s.scalar(select(Post).where(Post.popolo_id == popolo_id))
        if post is None:
            post = Post(popolo_id=popolo_id, **values)
            s.add(post)
            s.flush()
            report.added["posts"] += 1
        elif any(getattr(post, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(post, k, v)
            report.updated["posts"] += 1
        posts[popolo_id] = post.id
    return posts


def _import_memberships(s: Session, doc: dict, people: dict[str, int], orgs: dict[str, int],
                        posts: dict[str, int], report: ImportReport) -> None:
    for i, rec in enumerate(_records(doc, "memberships")):
        where = f"memberships[{i}]"
        popolo_id = _text(rec, "id", where)
        post_ref = rec.get("post_id")
        if post_ref is not None and post_ref not in posts:
            known = s.scalar(select(Post.id).where(Post.popolo_id == post_ref)) if isinstance(post_ref, str) else None
            if known is None:
                raise PopoloError(f"{where}.post_id: unknown post {post_ref!r}")
            posts[post_ref] = known
        values = {"person_id": _person_ref(s, people, rec.get("person_id"), f"{where}.person_id"),
                  "organization_id": _org_ref(s, orgs, rec.get("organization_id"), f"{where}.organization_id"),
                  "post_id": posts.get(post_ref) if post_ref else None,
                  "role": _text(rec, "role", where, limit=100),
                  "start_date": _date(rec, "start_date", where), "end_date": _date(rec, "end_date", where)}
        if popolo_id:
            row = s.scalar(select(Membership).where(Membership.popolo_id == popolo_id))
        else:
            row = s.scalar(select(Membership).where(*(getattr(Membership, k) == v if v is not None
                                                      else getattr(Membership, k).is_(None)
                                                      for k, v in values.items() if k != "end_date")).limit(1))
        if row is None:
            s.add(Membership(popolo_id=popolo_id, **values))
            report.added["memberships"] += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            report.updated["memberships"] += 1


def current(m: Membership, on: str | None = None) -> bool:
    """Whether the membership holds on ISO date ``on`` (default today); open ends hold."""
    day = on or date.today().isoformat()
    return (m.start_date or "") <= day and (not m.end_date or day <= m.end_date)


def faction_of(s: Session, person_id: int, on: str | None = None) -> Organization | None:
    """The faction (or party) a person belonged to on ``on`` (default today)."""
    rows = s.execute(select(Membership, Organization).join(Organization, Membership.organization_id == Organization.id)
                     .where(Membership.person_id == person_id, Organization.classification.in_(FACTION_CLASSES))
                     .order_by(Membership.start_date.desc())).all()
    for m, org in rows:
        if current(m, on):
            return org
    return None


def refresh_factions(s: Session, person_ids: set[int]) -> None:
    """Keep ``person.faction`` (what pages and search show) equal to the current faction's name."""
    for pid in person_ids:
        org = faction_of(s, pid)
        if org is not None:
            s.get(Person, pid).faction = org.name


# --- export ---------------------------------------------------------------------------------
def _idents(rows: list[Identifier]) -> list[dict[str, str]]:
    return [{"scheme": r.scheme, "identifier": r.identifier} if r.scheme else {"identifier": r.identifier}
            for r in rows]


def person_popolo(p: Person, idents: list[Identifier]) -> dict[str, Any]:
    return {"id": f"person/{p.id}", "name": p.name, "identifiers": _idents(idents)}


def vote_event_popolo(ve: VoteEvent, votes: list[Vote], organization_id: int | None) -> dict[str, Any]:
    """A vote event as Popolo shapes it (motion by reference; counts, group results, votes inline)."""
    return {
        "id": f"vote-event/{ve.id}", "identifier": ve.identifier, "motion_id": f"motion/{ve.id}",
        "organization_id": f"organization/{organization_id}" if organization_id else None,
        "legislative_session_id": f"sitting/{ve.sitting_id}",
        "start_date": ve.start_date.isoformat(timespec="seconds"), "result": ve.result,
        "counts": [{"option": c["option"], "value": c["value"]} for c in ve.counts],
        "group_results": [{"group_id": g["group_id"], "result": g["result"]} for g in ve.group_results],
        "votes": [{"voter_id": f"person/{v.person_id}", "option": v.option,
                   "group_id": f"organization/{v.group_id}" if v.group_id else None} for v in votes],
    }


def popolo_document(s: Session, sitting_id: int | None = None) -> dict[str, Any]:
    """Persons, organizations, posts, memberships, motions and vote events (of one sitting, or all)."""
    events_q = select(VoteEvent).order_by(VoteEvent.start_date, VoteEvent.id)
    if sitting_id is not None:
        events_q = events_q.where(VoteEvent.sitting_id == sitting_id)
    events = list(s.scalars(events_q))
    votes: dict[int, list[Vote]] = {}
    for v in s.scalars(select(Vote).where(Vote.vote_event_id.in_([e.id for e in events]))
                  .order_by(Vote.vote_event_id, Vote.person_id)):
        votes.setdefault(v.vote_event_id, []).append(v)
    persons_q = select(Person).order_by(Person.id)
    if sitting_id is not None:
        voters = select(Vote.person_id).join(VoteEvent).where(VoteEvent.sitting_id == sitting_id)
        speakers = select(TranscriptSegment.speaker_id).where(TranscriptSegment.sitting_id == sitting_id)
        persons_q = persons_q.where(Person.id.in_(voters) | Person.id.in_(speakers))
    persons = list(s.scalars(persons_q))
    idents: dict[tuple[str, int], list[Identifier]] = {}
    for row in s.scalars(select(Identifier).order_by(Identifier.id)):
        key = ("p", row.person_id) if row.person_id else ("o", row.organization_id)
        idents.setdefault(key, []).append(row)
    orgs = list(s.scalars(select(Organization).order_by(Organization.id)))
    committee_org = {o.committee_id: o.id for o in orgs if o.committee_id}
    sittings = {st.id: st.committee_id for st in s.scalars(select(Sitting).where(
        Sitting.id.in_({e.sitting_id for e in events})))}
    person_ids = {p.id for p in persons}
    memberships = [m for m in s.scalars(select(Membership).order_by(Membership.id)) if m.person_id in person_ids]
    doc: dict[str, Any] = {
        "persons": [person_popolo(p, idents.get(("p", p.id), [])) for p in persons],
        "organizations": [{
            "id": f"organization/{o.id}", "name": o.name, "classification": o.classification,
            "identifiers": _idents(idents.get(("o", o.id), [])),
            "parent_id": f"organization/{o.parent_id}" if o.parent_id else None,
            "founding_date": o.founding_date, "dissolution_date": o.dissolution_date} for o in orgs],
        "posts": [{"id": f"post/{p.id}", "label": p.label, "role": p.role,
                   "organization_id": f"organization/{p.organization_id}"}
                  for p in s.scalars(select(Post).order_by(Post.id))],
        "memberships": [{
            "id": f"membership/{m.id}", "person_id": f"person/{m.person_id}",
            "organization_id": f"organization/{m.organization_id}",
            "post_id": f"post/{m.post_id}" if m.post_id else None, "role": m.role,
            "start_date": m.start_date, "end_date": m.end_date} for m in memberships],
        "motions": [{"id": f"motion/{e.id}", "identifier": e.motion_identifier, "text": e.motion_text,
                     "legislative_session_id": f"sitting/{e.sitting_id}",
                     "organization_id": (f"organization/{committee_org[sittings[e.sitting_id]]}"
                                         if sittings.get(e.sitting_id) in committee_org else None)}
                    for e in events],
        "vote_events": [vote_event_popolo(e, votes.get(e.id, []), committee_org.get(sittings.get(e.sitting_id)))
                        for e in events],
    }
    return doc
