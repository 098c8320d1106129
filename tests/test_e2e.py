"""The README's main job end to end: scripts/demo.py on a fresh data dir, watched by a browser.

It runs with a PATH that has no ffmpeg, so the imageio-ffmpeg binary does all the work
(the no-apt path), and the default `base` model.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT
from tests.services import end_process, free_port, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def path_without_ffmpeg() -> str:
    dirs = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "ffmpeg").exists()]
    return os.pathsep.join([str(Path(sys.executable).parent), *dirs])


def test_demo_runs_the_whole_pipeline(tmp_path, browser):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp_path / "data"), PATH=path_without_ffmpeg(), PYTHONUNBUFFERED="1")
    assert shutil.which("ffmpeg", path=env["PATH"]) is None
    port = free_port()
    demo = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py"), "--port", str(port),
                             "--exit-when-done"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    lines: list[str] = []
    sitting = None
    deadline = time.monotonic() + 120
    while sitting is None and time.monotonic() < deadline:
        line = demo.stdout.readline()
        assert line, f"demo exited early: {lines}"
        lines.append(line)
        m = re.search(r"is live; sitting (\d+)", line)
        sitting = int(m.group(1)) if m else None
    assert sitting is not None
    base = f"http://127.0.0.1:{port}"

    page = browser.new_context(locale="en-US").new_page()
    deadline = time.monotonic() + 60
    while True:  # the home page is static: reload until the recorder has made the sitting live
        page.goto(f"{base}/")
        if page.locator(f"li.card:has(.live-badge) a[href='/live/{sitting}']").count() or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert page.locator(f"li.card:has(.live-badge) a[href='/live/{sitting}']").count() == 1  # LIVE on the home page
    page.goto(f"{base}/live/{sitting}")
    page.wait_for_selector("#transcript li.partial", timeout=60_000)  # words as they are heard
    page.wait_for_selector("#transcript li:not(.partial)", timeout=150_000)  # the live draft is rolling
    committed = "#transcript li:not(.partial)"
    first = page.locator(committed).count()
    assert page.locator("#ended").is_hidden()
    page.wait_for_function(f"() => document.querySelectorAll('{committed}').length > {first}", timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-live.png"), full_page=True)

    out, _ = demo.communicate(timeout=420)
    lines += out.splitlines()
    assert demo.returncode == 0, lines
    assert any("sitting" in x and ": recorded" in x for x in lines)
    searchable = next(x for x in lines if "searchable at" in x)

    db = sqlite3.connect(tmp_path / "data" / "sanarip.db")
    sources = {row[0] for row in db.execute("SELECT source FROM transcript_segment WHERE sitting_id = ?",
                                            (sitting,))}
    assert sources == {"final"}  # the final pass replaced the live draft
    status, duration = db.execute("SELECT status, duration FROM sitting WHERE id = ?", (sitting,)).fetchone()
    assert status == "transcribed" and duration > 30
    english = db.execute("SELECT text FROM transcript_segment WHERE sitting_id = ? AND language = 'en'",
                         (sitting,)).fetchall()
    assert english and any("delegation" in t.lower() or "budget" in t.lower() for (t,) in english)

    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the demo has stopped its own
    wait_for_port(port, proc=server)
    page.goto(searchable.split(": ", 1)[1].strip())
    link = page.locator("a.hit-link").first
    second = float(link.get_attribute("href").split("t=")[1])
    link.click()
    page.wait_for_url(re.compile(r"/s/\d+\?t="))
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {second}) <= 0.5"
                           " && document.getElementById('player').readyState >= 1", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "e2e-sitting.png"), full_page=True)
    end_process(server)
    leftovers = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in leftovers  # no orphaned worker, server or ffmpeg
