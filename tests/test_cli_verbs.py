"""The verbs a newcomer reached for: schedule list/cancel, person list, user list/enable/passwd,
sitting show/delete, and `sanarip stop` / the worker ending a live sitting nobody records."""

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.licenses import canonicalize_license_expression
from sqlalchemy import select

from sanarip.accounts import authenticate
from sanarip.config import load_settings
from sanarip.jobs import JobStatus
from sanarip.medialayout import segment_key, vod_playlist_key
from sanarip.models import Job, MediaSegment, Sitting, TranscriptSegment
from sanarip.pipeline import RecordPayload
from sanarip.runtime import Runtime
from search import Filters, open_index
from tests.conftest import run_cli
from tests.seed import seed

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rt(settings_env):
    rt = Runtime(load_settings(settings_env))
    rt.db.upgrade()
    yield rt
    rt.close()


def _fails_in_one_line(*args, env, says: str, input: str | None = None) -> None:  # noqa: A002
    proc = run_cli(*args, env=env, input=input, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert says in proc.stderr, proc.stderr


def test_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project["license"], str)  # a table is deprecated: setuptools prints a banner at install
    assert canonicalize_license_expression(project["license"]) == project["license"]
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))


def test_user_list_enable_passwd(rt, settings_env):
    run_cli("user", "add", "clara", "--role", "clerk", input="first-password-1\n", env=settings_env)
    run_cli("user", "disable", "clara", env=settings_env)
    assert json.loads(run_cli("user", "list", "--json", env=settings_env).stdout)[0]["active"] is False
    run_cli("user", "enable", "clara", env=settings_env)
    listed = run_cli("user", "list", env=settings_env).stdout
    assert "clara" in listed and "clerk" in listed and "active" in listed and "disabled" not in listed
    run_cli("user", "passwd", "clara", input="second-password-2\n", env=settings_env)
    with rt.db.session(readonly=True) as s:
        assert authenticate(s, "clara", "second-password-2") is not None
        assert authenticate(s, "clara", "first-password-1") is None
    _fails_in_one_line("user", "passwd", "nobody", input="third-password-3\n", env=settings_env, says="no user")
    _fails_in_one_line("user", "passwd", "clara", input="short\n", env=settings_env, says="too short")


def test_person_list(rt, settings_env):
    run_cli("person", "add", "Айгуль Асанова", "--faction", "Ата-Журт", env=settings_env)
    out = run_cli("person", "list", env=settings_env).stdout
    assert "Айгуль Асанова" in out and "Ата-Журт" in out
    assert json.loads(run_cli("person", "list", "--json", env=settings_env).stdout)[0]["name"] == "Айгуль Асанова"


def test_schedule_list_and_cancel(rt, settings_env):
    run_cli("committee", "add", "budget", "--name", "Budget", "--stream-url", "http://127.0.0.1:9/live.m3u8",
            env=settings_env)
    sid = run_cli("schedule", "add", "--committee", "budget", "--start", "2099-03-01T10:00",
                  "--end", "2099-03-01T12:00", "--title", "Spring budget", env=settings_env).stdout.strip()
    listed = run_cli("schedule", "list", env=settings_env).stdout
    assert sid in listed and "2099-03-01 10:00" in listed and "Spring budget" in listed  # local time, as given
    assert json.loads(run_cli("schedule", "list", "--json", env=settings_env).stdout)[0]["id"] == int(sid)
    run_cli("schedule", "cancel", sid, env=settings_env)
    assert run_cli("schedule", "list", "--json", env=settings_env).stdout.strip() == "[]"
    with rt.db.session(readonly=True) as s:
        assert s.get(Sitting, int(sid)) is None
        assert {j.status for j in s.scalars(select(Job).where(Job.kind == "record"))} == {JobStatus.CANCELLED}
    _fails_in_one_line("schedule", "cancel", sid, env=settings_env, says=f"no sitting with id {sid}")


def test_sitting_show_and_delete(rt, settings_env):
    ids = seed(rt, b"\0" * 188)
    sid = ids["sitting"]
    shown = json.loads(run_cli("sitting", "show", str(sid), "--json", env=settings_env).stdout)
    assert shown["id"] == sid and shown["segments"] == 4 and shown["started_at"].endswith("+06:00")
    assert "segments" in run_cli("sitting", "show", str(sid), env=settings_env).stdout
    _fails_in_one_line("sitting", "delete", str(sid), env=settings_env, says="--yes")
    assert rt.storage.exists(segment_key(sid, 0))
    _fails_in_one_line("sitting", "delete", str(ids["live"]), "--yes", env=settings_env, says="sanarip stop")
    run_cli("sitting", "delete", str(sid), "--yes", env=settings_env)
    assert not rt.storage.list(f"sittings/{sid}/")
    with rt.db.session(readonly=True) as s:
        assert s.get(Sitting, sid) is None
        assert not list(s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)))
    index = open_index(rt.settings)
    try:
        assert not [h for h in index.search("бюджет", Filters()).hits if h.sitting == sid]
    finally:
        index.close()
    _fails_in_one_line("sitting", "show", str(sid), env=settings_env, says="no sitting")


def _orphan(rt, with_job: str | None) -> int:
    """A live sitting with 20 s of media and a record job in ``with_job`` status (None: no job)."""
    from sanarip.catalog import add_committee

    start = datetime.now(UTC) - timedelta(minutes=5)
    with rt.db.session() as s:
        committee = s.scalar(select(Sitting.committee_id).limit(1))
        if committee is None:
            committee = add_committee(s, "budget", "Budget").id
        st = Sitting(committee_id=committee, status="live", started_at=start,
                     source_url="http://127.0.0.1:9/live.m3u8")
        s.add(st)
        s.flush()
        for seq in range(2):
            rt.storage.put_bytes(segment_key(st.id, seq), b"\0" * 188)
            s.add(MediaSegment(sitting_id=st.id, seq=seq, media_start=seq * 10.0, duration=10.0,
                               path=segment_key(st.id, seq),
                               wall_clock_start=start + timedelta(seconds=10 * seq),
                               wall_clock_end=start + timedelta(seconds=10 * seq + 10)))
        sid = st.id
    if with_job:
        job = rt.queue.submit(RecordPayload(sid))
        if with_job == JobStatus.DEAD:  # what Ctrl-C on `sanarip record` leaves
            rt.queue.claim("gone", job_id=job)
            rt.queue.fail(job, "gone", "KeyboardInterrupt", permanent=True)
    return sid


def _status_and_gap(rt, sid) -> tuple[str, bool]:
    with rt.db.session(readonly=True) as s:
        gap = s.scalar(select(MediaSegment).where(MediaSegment.sitting_id == sid, MediaSegment.is_gap.is_(True)))
        return s.get(Sitting, sid).status, gap is not None and gap.wall_clock_end > gap.wall_clock_start


def test_stop_ends_a_live_sitting_when_no_worker_records_it(rt, settings_env):
    sid = _orphan(rt, JobStatus.DEAD)
    out = run_cli("stop", str(sid), env=settings_env).stdout
    assert "recorded" in out
    assert _status_and_gap(rt, sid) == ("recorded", True)
    assert "#EXT-X-ENDLIST" in rt.storage.get_bytes(vod_playlist_key(sid)).decode()
    with rt.db.session(readonly=True) as s:
        assert s.scalar(select(Job).where(Job.kind == "transcribe", Job.status == "queued")) is not None


def test_worker_ends_live_sittings_whose_recording_is_gone(rt):
    import worker

    gone, dead, handed_back = _orphan(rt, None), _orphan(rt, JobStatus.DEAD), _orphan(rt, JobStatus.QUEUED)
    worker.Worker(rt, kinds={"sleep"}, poll=0.1).run(until_idle=True)
    assert _status_and_gap(rt, gone) == ("recorded", True)
    assert _status_and_gap(rt, dead) == ("recorded", True)
    assert _status_and_gap(rt, handed_back)[0] == "live"  # a worker that records will resume it
