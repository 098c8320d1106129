"""The record in a real browser (Chromium through Playwright) against a real `sanarip serve`: agenda
chapters seek the player; the live page shows a vote pushed by the e-voting system within 5 s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.recorder import Recorder
from sanarip.config import load_settings
from sanarip.models import Sitting
from sanarip.runtime import Runtime
from sanarip.sittings import SittingStatus
from tests.conftest import run_cli
from tests.services import end_process, free_port, wait_for_port
from tests.streams import make_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]
POPOLO = {"persons": [{"id": "p1", "name": "Айгуль Асанова"}, {"id": "p2", "name": "Нурлан Абдиев"}],
          "organizations": [{"id": "f1", "name": "Ата-Журт", "classification": "faction"}],
          "memberships": [{"person_id": "p1", "organization_id": "f1"}, {"person_id": "p2", "organization_id": "f1"}]}


@pytest.fixture(scope="module")
def site(tmp_path_factory, testdata):
    """An imported 30 s sitting with a two-item agenda, a live sitting, an editor's token, `sanarip serve`."""
    tmp = tmp_path_factory.mktemp("record-site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_SECRET_KEY="browser-test")
    run_cli("committee", "add", "budget", "--name", "Budget committee", env=env)
    (tmp / "popolo.json").write_text(json.dumps(POPOLO), encoding="utf-8")
    run_cli("popolo", "import", str(tmp / "popolo.json"), env=env)
    clip = make_clip(tmp / "sitting.mp4", 30, testdata / "en/mfa_acoustic_corpus_spontaneous.wav")
    sitting = int(run_cli("import", str(clip), "--committee", "budget", "--started-at", "2026-03-02T10:00:00+06:00",
                          "--background", env=env).stdout.split()[0])
    rt = Runtime(load_settings(env))
    Recorder(rt, sitting, from_file=True).run()  # the import job, without transcription
    with rt.db.session() as s:
        live = Sitting(committee_id=s.get(Sitting, sitting).committee_id, title="Live sitting",
                       status=SittingStatus.LIVE, started_at=datetime.now(UTC) - timedelta(minutes=1))
        s.add(live)
        s.flush()
        live_id = live.id
    rt.close()
    (tmp / "agenda.json").write_text(json.dumps([
        {"identifier": "Bill 1", "title": "Opening", "start": 0},
        {"identifier": "Bill 2", "title": "On the budget", "start": 18.5}]), encoding="utf-8")
    run_cli("agenda", "import", str(sitting), str(tmp / "agenda.json"), env=env)
    run_cli("user", "add", "eddie", "--role", "editor", env=env, input="correct horse battery\n")
    token = run_cli("token", "create", "eddie", env=env).stdout.strip()
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc=server)
    yield {"url": f"http://127.0.0.1:{port}", "sitting": sitting, "live": live_id, "token": token}
    end_process(server)


def test_chapters_seek_the_player(site, page):
    page.goto(f"{site['url']}/s/{site['sitting']}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=20000)
    page.click("#chapters a:has-text('Bill 2')")
    page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 18.5) <= 0.5",
                           timeout=10000)
    page.wait_for_function("() => document.querySelector('#chapters a[aria-current]') !== null", timeout=10000)
    assert "Bill 2" in page.inner_text("#chapters a[aria-current]")
    left = page.evaluate("getComputedStyle(document.querySelectorAll('#marks .chapter')[1]).left")
    assert left != "0px"  # the chapter's mark sits along the timeline bar


def test_live_page_shows_a_pushed_vote_within_5_s(site, page):
    page.goto(f"{site['url']}/live/{site['live']}")
    page.wait_for_selector("#live-votes", state="attached")
    time.sleep(2.5)  # the page has polled the live-state file at least once (none yet: 404)
    vote = {"identifier": "jk-2026-03-02-7", "motion": {"text": "Adopt bill 7", "identifier": "Bill 7"},
            "start_date": datetime.now(UTC).isoformat(), "result": "adopted",
            "votes": [{"voter_id": "p1", "option": "yes"}, {"voter_id": "p2", "option": "no"}]}
    request = urllib.request.Request(f"{site['url']}/api/v1/sittings/{site['live']}/vote-events",
                                     data=json.dumps(vote).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {site['token']}"})
    pushed = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 201
    page.wait_for_function("() => /Bill 7 — adopted 1 · 1 · 0/.test(document.getElementById('live-votes')"
                           ".textContent)", timeout=5000)
    assert time.monotonic() - pushed <= 5.0
