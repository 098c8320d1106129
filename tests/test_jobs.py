import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sanarip.jobs import JobError
from sanarip.models import Job, utcnow


def test_enqueue_dedupes_active_jobs(runtime):
    q = runtime.queue
    a = q.enqueue("sleep", {"seconds": 1}, dedupe_key="k")
    assert q.enqueue("sleep", {"seconds": 2}, dedupe_key="k") == a
    job = q.claim("w1")
    assert job.id == a and job.attempts == 1
    q.complete(a, "w1")
    assert q.enqueue("sleep", {}, dedupe_key="k") != a  # a finished job frees its key


def test_fail_retries_with_backoff_then_dead_letters(runtime):
    q = runtime.queue
    jid = q.enqueue("sleep", max_attempts=2)
    q.claim("w")
    assert q.fail(jid, "w", "boom 1") == "queued"
    assert q.claim("w") is None  # backing off
    with runtime.db.session() as s:
        s.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
    assert q.claim("w").attempts == 2
    assert q.fail(jid, "w", "boom 2") == "dead"
    with runtime.db.session() as s:
        job = s.get(Job, jid)
        assert job.status == "dead" and job.error == "boom 2"
    q.retry(jid)
    assert q.claim("w").id == jid


def test_expired_lease_is_reclaimed_and_old_owner_loses_it(runtime):
    q = runtime.queue
    jid = q.enqueue("sleep")
    q.claim("dead-worker")
    with runtime.db.session() as s:
        s.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    job = q.claim("new-worker")
    assert job.id == jid and job.attempts == 2
    assert not q.heartbeat(jid, "dead-worker")
    assert not q.complete(jid, "dead-worker")
    assert q.complete(jid, "new-worker")


def test_cancel_and_errors(runtime):
    q = runtime.queue
    jid = q.enqueue("sleep")
    q.cancel(jid)
    assert q.claim("w") is None
    with pytest.raises(JobError, match="only queued or running"):
        q.cancel(jid)
    with pytest.raises(JobError, match="no job"):
        q.retry(12345)


def test_claim_filters_kinds(runtime):
    q = runtime.queue
    q.enqueue("record", {"sitting": 1})
    short = q.enqueue("index", {"sitting": 1})
    assert q.claim("w", frozenset({"index", "transcribe"})).id == short
    assert q.claim("w", frozenset({"index"})) is None


def _start_worker(env: dict[str, str], *extra: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "sanarip"
    return subprocess.Popen([str(exe), "worker", "--kinds", "sleep", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _worker_env(runtime, settings_env) -> dict[str, str]:
    env = dict(settings_env)
    env["SANARIP_DATABASE_URL"] = runtime.settings.effective_database_url
    return env


def test_several_workers_run_each_job_exactly_once(runtime, settings_env, tmp_path):
    log = tmp_path / "ran.log"
    ids = [runtime.queue.enqueue("sleep", {"log": str(log)}) for _ in range(300)]
    env = _worker_env(runtime, settings_env)
    procs = [_start_worker(env, "--until-idle", "--concurrency", "2") for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    runs = Counter(int(line.split()[0]) for line in log.read_text().splitlines())
    assert set(runs) == set(ids) and set(runs.values()) == {1}
    assert len({line.split()[1] for line in log.read_text().splitlines()}) > 1  # work was shared
    assert runtime.queue.counts() == {"done": 300}


def test_killed_worker_job_reruns_after_lease(runtime, settings_env, tmp_path):
    log = tmp_path / "ran.log"
    ids = [runtime.queue.enqueue("sleep", {"log": str(log), "seconds": 1.5}) for _ in range(6)]
    env = _worker_env(runtime, settings_env) | {"SANARIP_JOB_LEASE": "2"}
    victim = _start_worker(env)
    deadline = time.monotonic() + 60
    victim_job = None
    while victim_job is None and time.monotonic() < deadline:
        with runtime.db.session(readonly=True) as s:
            victim_job = s.scalar(select(Job.id).where(Job.status == "running", Job.worker.endswith(f":{victim.pid}")))
        time.sleep(0.05)
    assert victim_job is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    survivor = _start_worker(env, "--until-idle")
    _, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    runs = Counter(int(line.split()[0]) for line in log.read_text().splitlines())
    assert set(runs) == set(ids) and set(runs.values()) == {1}
    with runtime.db.session(readonly=True) as s:
        killed = s.get(Job, victim_job)
        assert killed.status == "done" and killed.attempts == 2


def test_sigterm_releases_long_running_job(runtime, settings_env, tmp_path):
    jid = runtime.queue.enqueue("sleep", {"seconds": 60})
    proc = _start_worker(_worker_env(runtime, settings_env))
    deadline = time.monotonic() + 30
    while runtime.queue.counts().get("running") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert '"status": "released"' in err
    with runtime.db.session(readonly=True) as s:
        job = s.get(Job, jid)
        assert job.status == "queued" and job.attempts == 0
