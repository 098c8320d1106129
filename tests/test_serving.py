"""The application server under idle connections: `sanarip serve` (gunicorn) as deployed."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cli.serving import IDLE_TIMEOUT
from tests.services import end_process, free_port, wait_for_port

IDLE = 200


@pytest.fixture
def served(settings_env):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=settings_env,
                              cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:  # warm: templates, catalogs
            assert resp.status == 200
        yield port
    finally:
        end_process(server)


def _home_seconds(port: int) -> float:
    began = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
        assert resp.status == 200 and b"<html" in resp.read()
    return time.monotonic() - began


def test_home_page_within_a_second_while_200_sockets_sit_idle(served):
    """200 clients connect and send nothing; the home page still answers within 1 s, and the idle
    sockets stay open until the server's idle timeout (cli/serving.py IDLE_TIMEOUT) closes them."""
    idle = []
    try:
        for _ in range(IDLE):
            idle.append(socket.create_connection(("127.0.0.1", served), timeout=5))
        time.sleep(1.0)  # every idle socket has been accepted by now
        times = [_home_seconds(served) for _ in range(5)]
        assert max(times) < 1.0, f"home page took {max(times):.2f} s with {IDLE} idle sockets open: {times}"
        alive = 0
        for sock in idle:  # the idle sockets are still held open (not refused to make room)
            sock.setblocking(False)
            try:
                alive += sock.recv(1) != b""
            except BlockingIOError:
                alive += 1
        assert alive == IDLE
        time.sleep(IDLE_TIMEOUT + 2)  # then the server closes them: an idle socket is not held for ever
        closed = 0
        for sock in idle:
            sock.settimeout(5)
            try:
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == IDLE
    finally:
        for sock in idle:
            sock.close()


def test_a_serving_process_keeps_its_startup_objects_out_of_full_collections(sqlite_runtime):
    """serving_app (what each `sanarip serve` worker loads) freezes what exists once the app is built,
    so a full collection walks only what requests made since."""
    import gc

    from web import serving_app

    gc.unfreeze()
    try:
        app = serving_app(sqlite_runtime.settings)
        assert gc.get_freeze_count() > 10_000  # modules, the app, SQLAlchemy's metadata
        assert app.test_client().get("/factions").status_code == 200
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
