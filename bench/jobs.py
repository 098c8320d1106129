"""Job queue throughput: claimed jobs per second with 1 and 4 worker processes, SQLite and PostgreSQL.

Each figure is a ratio to a bare loop on the same database in the same run: one INSERT and
one UPDATE per job (what a queue must do at least), in autocommit.

    python bench/jobs.py [--jobs 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from sanarip.config import load_settings  # noqa: E402
from sanarip.pipeline import JobKind, SleepPayload  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from tests.services import create_pg_database, postgres_cluster  # noqa: E402

SANARIP = str(Path(sys.executable).parent / "sanarip")


def bare_loop(rt: Runtime, n: int) -> float:
    """Jobs per second of INSERT + UPDATE, one transaction each."""
    with rt.db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bare (id INTEGER PRIMARY KEY, status TEXT)"))
    t0 = time.perf_counter()
    for i in range(n):
        with rt.db.engine.begin() as conn:
            conn.execute(text("INSERT INTO bare (id, status) VALUES (:i, 'queued')"), {"i": i})
        with rt.db.engine.begin() as conn:
            conn.execute(text("UPDATE bare SET status = 'done' WHERE id = :i"), {"i": i})
    return n / (time.perf_counter() - t0)


def queue_rate(rt: Runtime, env: dict[str, str], n: int, workers: int) -> float:
    """Jobs per second drained by ``workers`` worker processes (each job: claim + complete)."""
    for _ in range(n):
        rt.queue.submit(SleepPayload())
    t0 = time.perf_counter()
    procs = [subprocess.Popen([SANARIP, "worker", "--kinds", JobKind.SLEEP, "--until-idle"], env=env,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    for p in procs:
        p.wait()
    elapsed = time.perf_counter() - t0
    left = rt.queue.counts().get("queued", 0)
    assert left == 0, f"{left} jobs left"
    return n / elapsed


def run(label: str, url: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
        env.update(SANARIP_DATA_DIR=tmp, SANARIP_DATABASE_URL=url or f"sqlite:///{tmp}/sanarip.db")
        rt = Runtime(load_settings(env))
        rt.db.upgrade()
        bare = bare_loop(rt, n)
        for workers in (1, 4):
            rate = queue_rate(rt, env, n, workers)
            print(f"{label:<10} workers={workers}  {rate:8.1f} jobs/s   bare INSERT+UPDATE {bare:8.1f}/s   "
                  f"ratio {rate / bare:.2f}")
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    run("sqlite", "", args.jobs)
    with postgres_cluster() as base:
        run("postgres", create_pg_database(base, "bench_jobs"), args.jobs)


if __name__ == "__main__":
    main()
