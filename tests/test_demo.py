"""`make demo` stops cleanly on SIGINT (also in the background, where SIGINT arrives ignored) and
SIGTERM, never leaves a sitting live, keeps its port on a quick re-run, names its sitting locally."""

import importlib.util
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT
from tests.services import free_port


def _demo_module():
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _time_wait_port() -> int:
    """A port whose server has closed, with its side of a connection lingering in TIME_WAIT."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server closes first: its end waits in TIME_WAIT
        time.sleep(0.2)
        client.close()
    return port


def test_a_quick_rerun_keeps_its_port():
    port = _time_wait_port()
    assert _demo_module().free_port(port) == port


def test_the_demo_names_its_sitting_in_the_configured_zone():
    title = _demo_module().sitting_title(datetime(2026, 12, 1, 19, 44, tzinfo=UTC), ZoneInfo("Asia/Bishkek"))
    assert title == "Demo sitting 2026-12-02 01:44"


def _ignore_sigint() -> None:  # what a non-interactive shell does for `make demo &`
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setsid()


def _run_until_live(env: dict[str, str], port: int) -> tuple[subprocess.Popen, int, list[str]]:
    demo = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py"), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=_ignore_sigint)
    lines: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        assert line, f"demo exited early: {lines}"
        lines.append(line)
        if m := re.search(r"is live; sitting (\d+)", line):
            return demo, int(m.group(1)), lines
    raise AssertionError(f"the demo did not go live: {lines}")


def _live_sittings(tmp_path) -> list[int]:
    db = sqlite3.connect(tmp_path / "data" / "sanarip.db")
    try:
        return [row[0] for row in db.execute("SELECT id FROM sitting WHERE status = 'live'")]
    finally:
        db.close()


@pytest.mark.slow
def test_demo_stops_on_sigint_in_the_background_and_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    port = free_port()
    for signum, to_group in ((signal.SIGINT, True), (signal.SIGTERM, False)):
        demo, sitting, lines = _run_until_live(env, port)
        time.sleep(3)  # recording
        if to_group:
            os.killpg(demo.pid, signum)  # Ctrl-C reaches the whole job
        else:
            demo.send_signal(signum)
        demo.wait(timeout=120)
        lines += demo.stdout.read().splitlines()  # through the buffered reader: readline may hold lines already
        demo.stdout.close()
        assert demo.returncode == 0 and any("stopped" in x for x in lines), lines
        assert any(f"open http://127.0.0.1:{port}/" in x for x in lines), lines  # the re-run kept its port
        assert _live_sittings(tmp_path) == [], lines  # never left live
    leftovers = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in leftovers  # no orphaned worker, server or ffmpeg
