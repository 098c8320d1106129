"""Database contention: reads that never wait for SQLite's write lock, 503 + Retry-After when it is held
too long, workers that retry instead of dying, and ``--until-idle`` that waits for a dead worker's job."""

import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from sanarip.config import load_settings
from sanarip.jobs import JobStatus
from sanarip.models import Job, utcnow
from sanarip.pipeline import SleepPayload
from sanarip.runtime import Runtime
from tests.conftest import run_cli
from tests.seed import seed
from tests.test_clerk import PASSWORD, csrf
from web import create_app
from worker import Worker


@contextmanager
def write_lock(db_file: Path):
    """Hold SQLite's write lock from another connection, as a long writer would."""
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@pytest.fixture
def app(settings_env):
    settings_env["SANARIP_DB_BUSY_TIMEOUT"] = "0.5"
    app = create_app(load_settings(settings_env))
    seed(app.extensions["sanarip"])
    run_cli("user", "add", "clara", "--role", "clerk", env=settings_env, input=PASSWORD + "\n")
    app.config["db_file"] = Path(settings_env["SANARIP_DATA_DIR"]) / "sanarip.db"
    return app


def test_health_check_reads_without_the_write_lock(app):
    client = app.test_client()
    with write_lock(app.config["db_file"]):
        resp = client.get("/healthz")
        assert resp.status_code == 200 and resp.get_json()["checks"]["database"] == "ok"
        assert client.get("/").status_code == 200  # public pages read, too


def test_busy_database_is_503_with_retry_after_never_500(app):
    client = app.test_client()
    token = csrf(client)
    with write_lock(app.config["db_file"]):
        page = client.post("/login", data={"username": "clara", "password": PASSWORD, "csrf_token": token},
                           headers={"Accept-Language": "en"})  # the message in English
        assert page.status_code == 503 and int(page.headers["Retry-After"]) >= 1
        assert b"busy" in page.data and b"Traceback" not in page.data
        api = client.get("/api/v1/committees")  # the API's rate-limit counter must write
        assert api.status_code == 503 and api.get_json()["status"] == 503 and "Retry-After" in api.headers
    assert client.post("/login", data={"username": "clara", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302  # nothing stuck afterwards


def test_worker_retries_while_the_database_is_busy(sqlite_runtime, tmp_path):
    rt = Runtime(load_settings({**{"SANARIP_DATA_DIR": str(sqlite_runtime.settings.data_dir)},
                                "SANARIP_SECRET_KEY": "x", "SANARIP_DB_BUSY_TIMEOUT": "0.2"}))
    log = tmp_path / "ran.log"
    job_id = rt.queue.submit(SleepPayload(seconds=0.0, log=str(log)))
    db_file = rt.settings.data_dir / "sanarip.db"
    held = threading.Event()

    def hold() -> None:
        with write_lock(db_file):
            held.set()
            time.sleep(1.5)  # several busy timeouts of the worker's claim

    locker = threading.Thread(target=hold)
    locker.start()
    held.wait(10)
    Worker(rt, kinds={"sleep"}, poll=0.1).run(until_idle=True)
    locker.join()
    with rt.db.session(readonly=True) as s:
        assert s.get(Job, job_id).status == JobStatus.DONE
    assert log.read_text().split()[0] == str(job_id)
    rt.close()


def test_until_idle_waits_for_a_dead_workers_leased_job(settings_env, tmp_path):
    settings_env["SANARIP_JOB_LEASE"] = "2"
    rt = Runtime(load_settings(settings_env))
    rt.db.upgrade()
    log = tmp_path / "ran.log"
    job_id = rt.queue.submit(SleepPayload(seconds=0.0, log=str(log)))
    assert rt.queue.claim("dead-host:1", {"sleep"}).id == job_id  # its worker then dies, lease held
    with rt.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() + timedelta(seconds=1)))
    run_cli("worker", "--kinds", "sleep", "--until-idle", env=settings_env, timeout=120)
    with rt.db.session(readonly=True) as s:
        job = s.get(Job, job_id)
        assert job.status == JobStatus.DONE and job.worker != "dead-host:1"
    assert log.read_text().split()[0] == str(job_id)
    rt.close()


def test_login_checks_the_password_outside_any_write_transaction(app, monkeypatch):
    """While scrypt runs (about 0.1 s per attempt) nobody else may be kept from writing."""
    import sanarip.accounts

    real = sanarip.accounts.check_password_hash
    locked_during_check: list[bool] = []

    def observed(pwhash: str, password: str) -> bool:
        probe = sqlite3.connect(app.config["db_file"], timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            locked_during_check.append(False)
        except sqlite3.OperationalError:
            locked_during_check.append(True)
        finally:
            probe.close()
        return real(pwhash, password)

    monkeypatch.setattr(sanarip.accounts, "check_password_hash", observed)
    client = app.test_client()
    assert client.post("/login", data={"username": "clara", "password": "wrong password",
                                       "csrf_token": csrf(client)}).status_code == 401
    assert client.post("/login", data={"username": "clara", "password": PASSWORD,
                                       "csrf_token": csrf(client)}).status_code == 302
    assert locked_during_check == [False, False]
