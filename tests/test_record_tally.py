"""The faction tallies behind the record pages (issue 23's figures): written with every vote import,
rewritten when a vote event is pushed again, gone with its sitting, backfilled by the migration, and
always giving the figures that the votes themselves give."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from sanarip.catalog import add_committee
from sanarip.db import MIGRATIONS
from sanarip.models import Organization, Person, Sitting, Vote, VoteEvent, VoteGroupTally
from sanarip.popolo import import_popolo
from sanarip.records import compare_factions, deputy_record, faction_record
from sanarip.removal import delete_sitting
from sanarip.sittings import SittingStatus
from sanarip.votes import PRESENT, store_vote_events

DEPUTIES = 9
OPTIONS = ("yes", "no", "abstain", "absent", "not voting")
PARLIAMENT = {
    "persons": [{"id": f"p{i}", "name": f"Deputy {i}"} for i in range(DEPUTIES)],
    "organizations": [{"id": "f-a", "name": "Alpha", "classification": "faction"},
                      {"id": "f-b", "name": "Beta", "classification": "faction"}],
    # p0 changes faction at the start of 2024; p8 belongs to none.
    "memberships": [{"person_id": "p0", "organization_id": "f-a", "start_date": "2021-01-01",
                     "end_date": "2023-12-31"},
                    {"person_id": "p0", "organization_id": "f-b", "start_date": "2024-01-01"}]
                   + [{"person_id": f"p{i}", "organization_id": "f-a" if i < 4 else "f-b", "start_date": "2021-01-01"}
                      for i in range(1, DEPUTIES - 1)],
}


def _sittings(rt) -> list[int]:
    """Three sittings without media (placed from their start): 2022, 2023 and 2024."""
    with rt.db.session() as s:
        committee = add_committee(s, "plenary", "Plenary")
        import_popolo(s, PARLIAMENT)
        ids = []
        for year in (2022, 2023, 2024):
            start = datetime(year, 3, 1, 4, 0, tzinfo=UTC)
            row = Sitting(committee_id=committee.id, title=f"Sitting {year}", status=SittingStatus.TRANSCRIBED,
                          started_at=start, ended_at=start + timedelta(hours=3), duration=3 * 3600.0)
            s.add(row)
            s.flush()
            ids.append(row.id)
    return ids


def _events(rng: random.Random, sitting: int, start: datetime, n: int = 4, **extra) -> list[dict]:
    return [{"identifier": f"s{sitting}-v{k}", "motion": {"text": f"Bill {k}", "identifier": f"B{sitting}-{k}"},
             "start_date": (start + timedelta(minutes=20 * k + 5)).isoformat(), "result": "adopted",
             "votes": [{"voter_id": f"p{i}", "option": rng.choice(OPTIONS)} for i in range(DEPUTIES)], **extra}
            for k in range(n)]


def _push(rt, sitting_id: int, events: list[dict]) -> None:
    with rt.db.session() as s:
        store_vote_events(s, sitting_id, events, UTC)


def _start(rt, sitting_id: int) -> datetime:
    with rt.db.session(readonly=True) as s:
        return s.get(Sitting, sitting_id).started_at


def _from_votes(s, start: date | None = None, end: date | None = None) -> dict[int, tuple]:
    """Per faction, straight from the vote rows: (mean Rice index, vote events, attendance share)."""
    per: dict[tuple[int, int], Counter] = {}
    for v, when in s.execute(select(Vote, VoteEvent.start_date).join(VoteEvent)):
        day = when.astimezone(UTC).date()
        if v.group_id is None or (start and day < start) or (end and day > end):
            continue
        per.setdefault((v.group_id, v.vote_event_id), Counter())[v.option] += 1
    out = {}
    for org in {g for g, _ in per}:
        tallies = [c for (g, _), c in per.items() if g == org]
        rice = [abs(c["yes"] - c["no"]) / (c["yes"] + c["no"]) for c in tallies if c["yes"] + c["no"]]
        listed = sum(c.total() for c in tallies)
        present = sum(c[o] for c in tallies for o in PRESENT)
        out[org] = (round(sum(rice) / len(rice), 4) if rice else None, len(tallies), round(present / listed, 4))
    return out


def _figures(rows: list[dict]) -> dict[int, tuple]:
    return {r["id"]: (r["cohesion"], r["vote_events"], r["attendance"]) for r in rows if r["vote_events"]}


def _majorities(s, person: Person) -> list[str | None]:
    """The deputy's faction majority per vote, read from the vote event's group_results."""
    rows = s.execute(select(VoteEvent, Vote.group_id).join(Vote).where(Vote.person_id == person.id)
                     .order_by(VoteEvent.start_date.desc(), VoteEvent.id.desc())).all()
    return [next((g["result"] for g in ve.group_results if g["group_id"] == f"organization/{gid}"), None)
            if gid else None for ve, gid in rows]


def test_figures_follow_the_votes_through_imports_pushes_again_and_deletion(runtime):
    rng = random.Random(23)
    ids = _sittings(runtime)
    for sid in ids:
        _push(runtime, sid, _events(rng, sid, _start(runtime, sid)))
    with runtime.db.session(readonly=True) as s:
        assert _figures(compare_factions(s)) == _from_votes(s)
        assert _figures(compare_factions(s, date(2023, 1, 1), date(2023, 12, 31))) == \
            _from_votes(s, date(2023, 1, 1), date(2023, 12, 31))
        people = list(s.scalars(select(Person).order_by(Person.id)))
        for person in people:
            assert [v["faction_majority"] for v in deputy_record(s, person)["votes"]] == _majorities(s, person)
        assert [v["faction_majority"] for v in deputy_record(s, people[-1])["votes"]] == [None] * 12  # no faction
        alpha = s.scalar(select(Organization).where(Organization.name == "Alpha"))
        record = faction_record(s, alpha)
        assert (record["cohesion"]["mean"], record["cohesion"]["vote_events"]) == _from_votes(s)[alpha.id][:2]
        assert len(record["cohesion"]["per_vote_event"]) == 12
    # Pushed again (same identifiers) with other votes and a later time: the tallies are rewritten.
    last = ids[-1]
    _push(runtime, last, _events(random.Random(5), last, _start(runtime, last) + timedelta(minutes=30)))
    with runtime.db.session(readonly=True) as s:
        assert _figures(compare_factions(s)) == _from_votes(s)
        tallies = s.execute(select(VoteGroupTally.start_date, VoteEvent.start_date)
                            .join(VoteEvent, VoteEvent.id == VoteGroupTally.vote_event_id)).all()
        assert tallies and all(a == b for a, b in tallies)
        for person in s.scalars(select(Person)):
            assert [v["faction_majority"] for v in deputy_record(s, person)["votes"]] == _majorities(s, person)
    # Group results as the e-voting system gives them: the deputy's faction majority is that result.
    with runtime.db.session(readonly=True) as s:
        alpha = s.scalar(select(Organization.id).where(Organization.name == "Alpha"))
        p1 = s.scalar(select(Person).where(Person.name == "Deputy 1"))
    given = _events(rng, last, _start(runtime, last), n=1,
                    group_results=[{"group_id": f"organization/{alpha}", "result": "abstain"}])
    given[0]["identifier"] = "given-1"
    _push(runtime, last, given)
    with runtime.db.session(readonly=True) as s:
        newest = deputy_record(s, p1)["votes"]
        assert next(v for v in newest if v["identifier"] == "given-1")["faction_majority"] == "abstain"
    # A deleted sitting takes its tallies along.
    delete_sitting(runtime, ids[0])
    with runtime.db.session(readonly=True) as s:
        assert _figures(compare_factions(s)) == _from_votes(s)
        assert s.scalar(select(VoteGroupTally).join(VoteEvent).where(VoteEvent.sitting_id == ids[0])) is None


def test_the_migrations_fill_the_tallies_and_keep_the_votes(runtime):
    rt = runtime
    rng = random.Random(7)
    ids = _sittings(rt)
    for sid in ids:
        _push(rt, sid, _events(rng, sid, _start(rt, sid)))
    with rt.db.session(readonly=True) as s:
        alpha = s.scalar(select(Organization.id).where(Organization.name == "Alpha"))
    given = _events(rng, ids[0], _start(rt, ids[0]), n=1,
                    group_results=[{"group_id": f"organization/{alpha}", "result": "no"},
                                   {"group_id": f"organization/{alpha}", "result": "yes"}])  # the first counts
    given[0]["identifier"] = "given"
    _push(rt, ids[0], given)

    def tallies() -> list[tuple]:
        with rt.db.session(readonly=True) as s:
            return [tuple(row) for row in s.execute(
                select(VoteGroupTally.vote_event_id, VoteGroupTally.group_id, VoteGroupTally.start_date,
                       VoteGroupTally.yes, VoteGroupTally.no, VoteGroupTally.listed, VoteGroupTally.present,
                       VoteGroupTally.result).order_by(VoteGroupTally.vote_event_id, VoteGroupTally.group_id))]

    def votes() -> list[tuple]:
        with rt.db.session(readonly=True) as s:
            return [tuple(row) for row in s.execute(
                select(Vote.vote_event_id, Vote.person_id, Vote.option, Vote.group_id)
                .order_by(Vote.vote_event_id, Vote.person_id))]

    written, cast = tallies(), votes()
    assert len(written) == 13 * 2 and ("no" in {r[-1] for r in written}) and len(cast) == 13 * DEPUTIES
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with rt.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    rt.db.upgrade()
    assert tallies() == written and votes() == cast  # the vote table re-keyed both ways (0009), rows kept
