"""Votes as Popolo motions and vote events, placed on the sitting's timeline by their wall clock.

One entry point for the CLI import and the e-voting system's push: ``store_vote_events`` checks
every record first (unknown voter, counts that disagree with the votes, a time outside the
sitting, a malformed field: VoteError naming the record) and only then writes, in the caller's
transaction. ``identifier`` is the idempotency key: pushing the same vote event again replaces it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from sanarip import livestate
from sanarip.db import insert_many
from sanarip.errors import SanaripError
from sanarip.models import (
    Identifier,
    Membership,
    Organization,
    Person,
    Sitting,
    Vote,
    VoteEvent,
    VoteGroupTally,
)
from sanarip.popolo import FACTION_CLASSES
from sanarip.sittings import get_sitting
from sanarip.texthygiene import checked_text
from sanarip.timeline import Timeline

OPTIONS = ("yes", "no", "abstain", "absent", "not voting")
PRESENT = ("yes", "no", "abstain", "not voting")  # recorded in the room
CANONICAL = frozenset(OPTIONS)  # spelled as stored: no normalizing needed
FIELDS = {"id", "identifier", "motion", "start_date", "end_date", "result", "counts", "votes", "group_results",
          "organization_id", "legislative_session_id", "classification", "motion_id"}
MAX_VOTE_EVENTS = 5000
MAX_VOTES = 1000  # votes in one vote event (a chamber's members)


class VoteError(SanaripError):
    """A vote event that cannot be stored (the message names it)."""


def _option(value: Any, where: str) -> str:
    option = value.replace("_", " ").casefold() if isinstance(value, str) else None
    if option not in OPTIONS:
        raise VoteError(f"{where}: option must be one of {', '.join(OPTIONS)}, got {value!r}")
    return option


def _short(value: Any, where: str, limit: int = 200, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise VoteError(f"{where} is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise VoteError(f"{where} must be a text of at most {limit} characters")
    try:
        return checked_text(value, where).strip()
    except SanaripError as exc:
        raise VoteError(str(exc)) from None


# Built once: composing a statement costs about as much as running it on a parliament's 120 deputies.
_PERSON_VALUES = (select(Person.id, Identifier.identifier)
                  .outerjoin(Identifier, Identifier.person_id == Person.id).order_by(Identifier.id))
_FACTION_MEMBERS = (select(Membership.person_id, Membership.start_date, Membership.end_date, Organization.id,
                           Organization.name)
                    .join(Organization, Membership.organization_id == Organization.id)
                    .where(Organization.classification.in_(FACTION_CLASSES)))


class VoterIndex:
    """Who a ``voter_id`` names (``person/<id>`` or any identifier value) and their faction on a day."""

    def __init__(self, s: Session) -> None:
        # Two Core queries on the session's connection (the ORM's per-statement handling cost more than
        # the rows): every push builds one, and a push is a few milliseconds of work in all.
        conn = s.connection()
        self.ids: set[int] = set()
        self.by_value: dict[str, int] = {}
        for pid, value in conn.execute(_PERSON_VALUES).all():
            self.ids.add(pid)
            if value is not None:
                self.by_value.setdefault(value, pid)
        # What ``person`` answers, as one dict for the one-get path of ``parse_vote_event``; a value that
        # ``person`` reads as a sitting id of its own (``person/007``) is left to ``person``.
        self.lookup: dict[str, int] = {k: v for k, v in self.by_value.items() if not self._own_id(k)}
        self.lookup.update((f"person/{pid}", pid) for pid in self.ids)
        self.factions: dict[int, list[tuple[str, str, int]]] = {}
        self.names: dict[int, str] = {}  # the factions' names, for group_results
        for pid, start, end, org, name in conn.execute(_FACTION_MEMBERS).all():
            self.factions.setdefault(pid, []).append((start or "", end or "9999", org))
            self.names[org] = name
        self._on_day: dict[str, dict[int, int]] = {}

    def _own_id(self, voter: str) -> bool:
        """``person/<id>`` of a known person (any spelling of the number)."""
        return voter.startswith("person/") and voter[7:].isdigit() and int(voter[7:]) in self.ids

    def person(self, voter: Any) -> int | None:
        if not isinstance(voter, str):
            return None
        if self._own_id(voter):
            return int(voter[7:])
        return self.by_value.get(voter)

    def faction(self, person_id: int, day: str) -> int | None:
        for start, end, org in self.factions.get(person_id, ()):
            if start <= day <= end:
                return org
        return None

    def factions_on(self, day: str) -> dict[int, int]:
        """Every deputy's faction on ``day``, worked out once per day: a batch's vote events share days."""
        found = self._on_day.get(day)
        if found is None:
            found = self._on_day[day] = {pid: org for pid in self.factions
                                         if (org := self.faction(pid, day)) is not None}
        return found


def majority(options: Counter) -> str:
    """The option most of a group chose (ties: the first in OPTIONS order)."""
    cast = {k: v for k, v in options.items() if k != "absent"} or options
    most = max(cast.values(), default=0)
    return next(o for o in OPTIONS if cast.get(o, 0) == most)


def parse_vote_event(rec: Any, n: int, timeline: Timeline, voters: VoterIndex, tz: Any) -> dict[str, Any]:
    """One record checked and resolved: the row's values and its votes."""
    if not isinstance(rec, dict):
        raise VoteError(f"vote event {n}: expected an object")
    key = rec.get("identifier") or rec.get("id")
    where = f"vote event {n}" + (f" ({key})" if isinstance(key, str) else "")
    unknown = sorted(set(rec) - FIELDS)
    if unknown:
        raise VoteError(f"{where}: unknown field(s): {', '.join(unknown)}")
    identifier = _short(key, f"{where}: 'identifier'", required=True)
    motion = rec.get("motion") or {}
    if not isinstance(motion, dict):
        raise VoteError(f"{where}: 'motion' must be an object with 'text' and 'identifier'")
    stamp = rec.get("start_date")
    try:
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        when = None
    if when is None:
        raise VoteError(f"{where}: 'start_date' must be an ISO time such as 2026-03-02T10:15:00+06:00")
    when = when if when.tzinfo else when.replace(tzinfo=tz)
    try:
        placed = timeline.to_media(when)
    except SanaripError as exc:
        raise VoteError(f"{where}: {exc}") from None
    listed = rec.get("votes") or []
    if not isinstance(listed, list) or len(listed) > MAX_VOTES:
        raise VoteError(f"{where}: 'votes' must be a list of at most {MAX_VOTES} {{voter_id, option}}")
    votes = _plain_votes(listed, voters.lookup)
    if votes is None:
        votes = _checked_votes(listed, voters, where)
    tally = Counter(votes.values())
    counts_in = rec.get("counts")
    if counts_in is not None:
        if not isinstance(counts_in, list) or len(counts_in) > len(OPTIONS):
            raise VoteError(f"{where}: 'counts' must be a list of {{option, value}}")
        counts = {}
        for j, c in enumerate(counts_in):
            value = c.get("value") if isinstance(c, dict) else None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise VoteError(f"{where}: counts[{j}] needs an option and a whole number value from 0")
            counts[_option(c.get("option"), f"{where}: counts[{j}]")] = value
        if votes:
            for option in set(counts) | set(tally):
                if counts.get(option, 0) != tally.get(option, 0):
                    raise VoteError(f"{where}: counts disagree with the votes for {option!r} "
                                    f"({counts.get(option, 0)} counted, {tally.get(option, 0)} votes)")
    else:
        counts = dict(tally)
    on_day = voters.factions_on(when.date().isoformat())
    groups = list(map(on_day.get, votes))
    cast = list(zip(votes, votes.values(), groups, strict=True))
    per_group: defaultdict[int, Counter] = defaultdict(Counter)  # setdefault would build a Counter per pair
    for (org, option), n in Counter(zip(groups, votes.values(), strict=True)).items():
        if org is not None:
            per_group[org][option] = n
    group_results = _group_results(rec.get("group_results"), per_group, voters, where)
    first_result: dict[Any, Any] = {}
    for g in group_results:
        first_result.setdefault(g["group_id"], g["result"])
    return {
        "values": {"identifier": identifier, "motion_identifier": _short(motion.get("identifier"),
                                                                         f"{where}: 'motion.identifier'"),
                   "motion_text": _short(motion.get("text"), f"{where}: 'motion.text'", limit=10_000) or "",
                   "start_date": when, "media_time": round(placed.media_time, 3), "in_gap": placed.in_gap,
                   "result": _short(rec.get("result"), f"{where}: 'result'", limit=100),
                   "counts": [{"option": o, "value": counts[o]} for o in OPTIONS if o in counts],
                   "group_results": group_results},
        "votes": cast,
        "tallies": [(org, t["yes"], t["no"], t.total(), sum(t[o] for o in PRESENT),
                     first_result.get(f"organization/{org}")) for org, t in sorted(per_group.items())],
    }


def _plain_votes(listed: list[Any], lookup: dict[str, int]) -> dict[int, str] | None:
    """The votes of a list in the usual spelling (objects naming known voters once each, canonical
    options), by person id, in one pass; None when anything is unusual, for ``_checked_votes`` to
    resolve or name. A vote event lists every member: this is the hot loop of an import."""
    try:
        votes = {lookup[v["voter_id"]]: v["option"] for v in listed}
        if len(votes) == len(listed) and CANONICAL.issuperset(votes.values()):
            return votes
    except (KeyError, TypeError):  # an unknown voter, a missing field, a non-object, an unhashable value
        pass
    return None


def _checked_votes(listed: list[Any], voters: VoterIndex, where: str) -> dict[int, str]:
    """The votes by person id, each checked in turn: the first problem raises VoteError naming it."""
    votes: dict[int, str] = {}
    for j, v in enumerate(listed):
        if not isinstance(v, dict):
            raise VoteError(f"{where}: votes[{j}] must be an object")
        pid = voters.person(v.get("voter_id"))
        if pid is None:
            raise VoteError(f"{where}: votes[{j}]: unknown voter {v.get('voter_id')!r}")
        if pid in votes:
            raise VoteError(f"{where}: votes[{j}]: {v.get('voter_id')!r} votes twice")
        option = v.get("option")
        votes[pid] = option if isinstance(option, str) and option in CANONICAL else \
            _option(option, f"{where}: votes[{j}]")
    return votes


def _group_results(given: Any, per_group: dict[int, Counter], voters: VoterIndex,
                   where: str) -> list[dict[str, Any]]:
    """Each faction's majority option and counts, computed from the votes (or as given)."""
    if given:
        if not isinstance(given, list) or not all(isinstance(g, dict) and isinstance(g.get("result"), str)
                                                  for g in given):
            raise VoteError(f"{where}: 'group_results' must be a list of {{group_id, result}}")
        return [{"group_id": _short(g.get("group_id"), f"{where}: group_id"), "group": None,
                 "result": _short(g["result"], f"{where}: result", 100), "counts": []} for g in given]
    return [{"group_id": f"organization/{org}", "group": voters.names.get(org), "result": majority(tally),
             "counts": [{"option": o, "value": tally[o]} for o in OPTIONS if tally.get(o)]}
            for org, tally in sorted(per_group.items())]


class Stored(NamedTuple):
    """A vote event as stored: what the CLI prints and the push answers."""

    id: int
    identifier: str
    media_time: float
    in_gap: bool


def store_vote_events(s: Session, sitting_id: int, records: Any, tz: Any) -> list[Stored]:
    """Check every record, then store them all (an identifier seen before is replaced)."""
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not records:
        raise VoteError("send a vote event (a JSON object) or a non-empty list of them")
    if len(records) > MAX_VOTE_EVENTS:
        raise VoteError(f"at most {MAX_VOTE_EVENTS} vote events at once")
    sitting = get_sitting(s, sitting_id)
    timeline, voters = Timeline.load(s, sitting), VoterIndex(s)
    parsed = [parse_vote_event(rec, n, timeline, voters, tz) for n, rec in enumerate(records)]
    keys = [p["values"]["identifier"] for p in parsed]
    if len(set(keys)) < len(keys):
        raise VoteError(f"identifier {next(k for k in keys if keys.count(k) > 1)!r} appears twice")
    conn = s.connection()
    table = VoteEvent.__table__
    found = {key: (event_id, owner) for key, event_id, owner in conn.execute(
        select(table.c.identifier, table.c.id, table.c.sitting_id).where(table.c.identifier.in_(keys)))}
    for key, (_, owner) in found.items():
        if owner != sitting_id:
            raise VoteError(f"vote event {key!r} belongs to sitting {owner}")
    ids = {key: event_id for key, (event_id, _) in found.items()}
    if ids:
        _replace_events(s, [(ids[p["values"]["identifier"]], p["values"]) for p in parsed
                            if p["values"]["identifier"] in ids])
    ids.update(_insert_events(conn, sitting_id, [p["values"] for p in parsed
                                                 if p["values"]["identifier"] not in ids]))
    _insert_votes(conn, [(ids[p["values"]["identifier"]], p) for p in parsed])
    return [Stored(ids[p["values"]["identifier"]], p["values"]["identifier"], p["values"]["media_time"],
                   p["values"]["in_gap"]) for p in parsed]


def _replace_events(s: Session, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Vote events pushed again: their votes and tallies go (new ones follow), their values change."""
    replaced = [event_id for event_id, _ in rows]
    s.execute(delete(Vote).where(Vote.vote_event_id.in_(replaced)))
    s.execute(delete(VoteGroupTally).where(VoteGroupTally.vote_event_id.in_(replaced)))
    for event_id, values in rows:
        s.execute(update(VoteEvent).where(VoteEvent.id == event_id).values(**values))


def _insert_events(conn: Connection, sitting_id: int, values: list[dict[str, Any]]) -> dict[str, int]:
    """New vote events in one INSERT … RETURNING (the ORM's unit of work cost more than the insert);
    returns {identifier: id}."""
    if not values:
        return {}
    table = VoteEvent.__table__
    result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                          [{"sitting_id": sitting_id, **v} for v in values])
    return {v["identifier"]: event_id for v, event_id in zip(values, result.scalars(), strict=True)}


def _insert_votes(conn: Connection, events: list[tuple[int, dict[str, Any]]]) -> None:
    """The votes and the faction tallies, one driver executemany each: the ORM's bulk path costs more
    per row than the database does (issue 23's figure compares with a bare executemany)."""
    insert_many(conn, Vote.__table__, ("vote_event_id", "person_id", "option", "group_id"),
                [(event_id, pid, option, group) for event_id, p in events for pid, option, group in p["votes"]])
    insert_many(conn, VoteGroupTally.__table__, ("vote_event_id", "group_id", "start_date", "yes", "no", "listed",
                                                 "present", "result"),
                [(event_id, org, p["values"]["start_date"], yes, no, listed, present, result) for event_id, p in events
                 for org, yes, no, listed, present, result in p["tallies"]])


def events_of(s: Session, sitting_id: int) -> list[VoteEvent]:
    return list(s.scalars(select(VoteEvent).where(VoteEvent.sitting_id == sitting_id)
                          .order_by(VoteEvent.media_time, VoteEvent.id)))


def label(ve: VoteEvent) -> str:
    """``Bill 123 — adopted 34 · 5 · 2`` (yes · no · abstain): the timeline's and transcript's mark."""
    counts = {c["option"]: c["value"] for c in ve.counts}
    head = ve.motion_identifier or ve.identifier
    result = f" — {ve.result}" if ve.result else " —"
    return f"{head}{result} {counts.get('yes', 0)} · {counts.get('no', 0)} · {counts.get('abstain', 0)}"


def vote_event_dict(ve: VoteEvent, votes: list[tuple[Vote, str]] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "identifier": ve.identifier, "sitting": ve.sitting_id,
        "motion": {"text": ve.motion_text, "identifier": ve.motion_identifier},
        "start_date": ve.start_date.isoformat(timespec="seconds"), "media_time": ve.media_time,
        "in_gap": ve.in_gap, "result": ve.result, "counts": ve.counts, "group_results": ve.group_results,
        "label": label(ve)}
    if votes is not None:
        data["votes"] = [{"voter_id": f"person/{v.person_id}", "name": name, "option": v.option,
                          "group_id": f"organization/{v.group_id}" if v.group_id else None} for v, name in votes]
    return data


def vote_event_dicts(s: Session, sitting: Sitting, with_votes: bool = True) -> list[dict[str, Any]]:
    events = events_of(s, sitting.id)
    per_event: dict[int, list[tuple[Vote, str]]] = {}
    if with_votes and events:
        for v, name in s.execute(select(Vote, Person.name).join(Person, Vote.person_id == Person.id)
                                 .where(Vote.vote_event_id.in_([e.id for e in events])).order_by(Person.name)):
            per_event.setdefault(v.vote_event_id, []).append((v, name))
    return [vote_event_dict(e, per_event.get(e.id, []) if with_votes else None) for e in events]


def recent_for_live(s: Session, sitting_id: int, limit: int = 5) -> list[dict[str, Any]]:
    """The live-state slot ``vote_events``: the sitting's newest vote events, newest last, without votes."""
    rows = list(s.scalars(select(VoteEvent).where(VoteEvent.sitting_id == sitting_id)
                          .order_by(VoteEvent.start_date.desc(), VoteEvent.id.desc()).limit(limit)))
    return [vote_event_dict(ve) for ve in reversed(rows)]


livestate.register_slot("vote_events", recent_for_live)
