"""Figures of the parliamentary record for a synthetic parliament, from one run (issue 23).

* vote import throughput: ``store_vote_events`` (checks, placement on the timeline, faction per
  voter, group results) against a bare ``executemany`` of the same vote rows into the same table
  layout (``bare_table``: the vote table's storage, without its index and foreign keys), measured in
  the same run (goal: ratio ≥ 0.5). Each sitting's bare batch runs right after its import, so both
  see the same machine load (other processes come and go on a shared machine);
* deputy record page and faction comparison page p95 through the Flask app, one process
  (goal: ≤ 100 ms with one process per core).

The full parliament is 120 deputies, 6 factions, 5 years, 2,000 sittings and 20,000 vote events
× 120 votes; ``--scale 0.1`` builds a tenth of the sittings and vote events (same deputies).

    python bench/record.py [--scale 1.0] [--database-url postgresql://… | --postgres] [--requests 40]

``--postgres`` starts a throwaway PostgreSQL cluster on 127.0.0.1 (as the tests do) for the run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, MetaData, Table, text  # noqa: E402

from sanarip.catalog import add_committee  # noqa: E402
from sanarip.config import load_settings  # noqa: E402
from sanarip.models import Sitting, Vote  # noqa: E402
from sanarip.popolo import import_popolo  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from sanarip.sittings import SittingStatus  # noqa: E402
from sanarip.votes import store_vote_events  # noqa: E402

DEPUTIES, FACTIONS, SITTINGS, EVENTS_PER_SITTING = 120, 6, 2000, 10
OPTIONS = ("yes", "no", "abstain", "absent")


def parliament() -> dict:
    persons = [{"id": f"p{i}", "name": f"Deputy {i}"} for i in range(DEPUTIES)]
    orgs = [{"id": f"f{j}", "name": f"Faction {j}", "classification": "faction"} for j in range(FACTIONS)]
    members = [{"person_id": f"p{i}", "organization_id": f"f{i % FACTIONS}", "start_date": "2021-01-01"}
               for i in range(DEPUTIES)]
    return {"persons": persons, "organizations": orgs, "memberships": members}


def vote_events(rng: random.Random, sitting: int, start: datetime) -> list[dict]:
    out = []
    for k in range(EVENTS_PER_SITTING):
        votes = [{"voter_id": f"p{i}", "option": rng.choices(OPTIONS, (70, 15, 10, 5))[0]} for i in range(DEPUTIES)]
        out.append({"identifier": f"s{sitting}-v{k}", "motion": {"text": f"Bill {sitting}/{k}",
                                                                 "identifier": f"B{sitting}-{k}"},
                    "start_date": (start + timedelta(minutes=10 * k + 5)).isoformat(), "result": "adopted",
                    "votes": votes})
    return out


def build(rt: Runtime, sittings: int) -> tuple[list[int], tuple[float, float], tuple[float, float], int]:
    """The parliament, its sittings and vote events; returns (sitting ids, (wall, CPU) seconds importing
    votes, (wall, CPU) seconds of the bare executemany of the same rows, votes)."""
    rng = random.Random(23)
    with rt.db.session() as s:
        committee = add_committee(s, "plenary", "Plenary")
        import_popolo(s, parliament())
        ids = []
        first = datetime(2021, 2, 1, 4, 0, tzinfo=UTC)
        for n in range(sittings):
            start = first + timedelta(days=n * 5 * 365 // sittings)
            row = Sitting(committee_id=committee.id, title=f"Sitting {n}", status=SittingStatus.TRANSCRIBED,
                          started_at=start,
                          ended_at=start + timedelta(hours=3), duration=3 * 3600.0)
            s.add(row)
            s.flush()
            ids.append(row.id)
    with rt.db.engine.begin() as conn:
        bare_table(conn.dialect.name).create(conn)
    spent, bare, votes = np.zeros(2), np.zeros(2), 0
    for n, sid in enumerate(ids):
        with rt.db.session(readonly=True) as s:
            start = s.get(Sitting, sid).started_at
        batch = vote_events(rng, n, start)
        began = clocks()
        with rt.db.session() as s:
            store_vote_events(s, sid, batch, UTC)
        spent += clocks() - began
        bare += bare_executemany(rt, votes, len(batch) * DEPUTIES)
        votes += len(batch) * DEPUTIES
    return ids, tuple(spent), tuple(bare), votes


def clocks() -> np.ndarray:
    """(wall, this process's CPU) seconds: on a shared machine the CPU time is the code's own cost."""
    return np.array([time.perf_counter(), time.process_time()])


def bare_table(dialect: str) -> Table:
    """``bench_vote``: the vote table's storage without its index and constraints. That is a heap of its
    columns, or on SQLite, where the vote table is WITHOUT ROWID (its rows live in its primary key's
    B-tree), that key's B-tree: the rows go where the import puts them."""
    vote = Vote.__table__
    clustered = dialect == "sqlite" and vote.dialect_options["sqlite"]["with_rowid"] is False
    return Table("bench_vote", MetaData(),
                 *(Column(c.name, c.type, primary_key=clustered and c.primary_key, nullable=c.nullable)
                   for c in vote.columns), sqlite_with_rowid=not clustered)


def bare_executemany(rt: Runtime, first: int, count: int) -> np.ndarray:
    """(wall, CPU) seconds to insert vote rows ``first`` … ``first + count - 1`` of the same shape with
    one executemany."""
    rows = [(i // DEPUTIES + 1, i % DEPUTIES + 1, OPTIONS[i % 4], i % FACTIONS + 1)
            for i in range(first, first + count)]
    began = clocks()
    with rt.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_vote (vote_event_id, person_id, option, group_id) "
                          "VALUES (:e, :p, :o, :g)"),
                     [{"e": e, "p": p, "o": o, "g": g} for e, p, o, g in rows])
    return clocks() - began


def p95(client, urls: list[str]) -> tuple[float, float]:
    """p95 in ms of the wall time and of this process's CPU time (on a shared machine the CPU time
    shows the page's own cost; with PostgreSQL it leaves out the server's work)."""
    times, cpu = [], []
    for url in urls:
        began, began_cpu = time.perf_counter(), time.process_time()
        resp = client.get(url)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        assert resp.status_code == 200, (url, resp.status_code)
    return float(np.percentile(times, 95) * 1000), float(np.percentile(cpu, 95) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL cluster for the run")
    ap.add_argument("--requests", type=int, default=40)
    args = ap.parse_args()
    if args.postgres:
        from tests.services import postgres_cluster

        with postgres_cluster() as url:
            run(args, url)
    else:
        run(args, args.database_url)


def run(args: argparse.Namespace, database_url: str) -> None:
    sittings = max(1, int(SITTINGS * args.scale))
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
        env.update(SANARIP_DATA_DIR=str(Path(tmp) / "data"), SANARIP_SECRET_KEY="bench")
        if database_url:
            env["SANARIP_DATABASE_URL"] = database_url
        settings = load_settings(env)
        rt = Runtime(settings)
        rt.db.upgrade()
        ids, spent, bare, votes = build(rt, sittings)
        backend = rt.db.engine.dialect.name
        print(f"synthetic parliament on {backend}: {DEPUTIES} deputies, {FACTIONS} factions, {sittings} sittings, "
              f"{sittings * EVENTS_PER_SITTING} vote events, {votes} votes (scale {args.scale})")
        print(f"vote import: {votes / spent[0]:,.0f} votes/s; bare executemany: {votes / bare[0]:,.0f} rows/s; "
              f"ratio {bare[0] / spent[0]:.2f} (goal ≥ 0.5)")
        print(f"  CPU time of this process: ratio {bare[1] / spent[1]:.2f}")
        from web import serving_app

        client = serving_app(settings).test_client()  # as `sanarip serve` runs it
        with rt.db.session(readonly=True) as s:
            people = [pid for (pid,) in s.execute(text("SELECT id FROM person ORDER BY id"))]
            assert s.query(Vote).count() == votes
        rng = random.Random(5)
        deputy = p95(client, [f"/p/{rng.choice(people)}/record" for _ in range(args.requests)])
        ranges = [f"/factions?from={2021 + rng.randrange(4)}-01-01&to=2025-12-31" for _ in range(args.requests)]
        compare = p95(client, ranges)
        print(f"deputy page p95: {deputy[0]:.0f} ms; faction comparison p95: {compare[0]:.0f} ms "
              f"(one process, {args.requests} requests each; goal ≤ 100 ms)")
        print(f"  CPU time of this process, p95: deputy page {deputy[1]:.0f} ms, "
              f"faction comparison {compare[1]:.0f} ms")
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
        rt.close()


if __name__ == "__main__":
    main()
