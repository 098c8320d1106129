"""``serve``: the web front end under gunicorn (threaded workers, one per core)."""

from __future__ import annotations

import socket
from typing import Any

import click

from cli.common import ready_runtime
from sanarip.errors import SanaripError

BACKLOG = 2048
WORKER_CONNECTIONS = 1000
IDLE_TIMEOUT = 10
FIRST_BYTE_WAIT = 0.05


def _short_first_byte_wait(worker: Any) -> None:
    """gthread hands each new connection to a thread that waits up to 5 s for its first bytes
    before parking it in the poller; 200 sockets that never send would hold every thread for
    that long, and the site would stall. Wait 50 ms instead: an idle socket then costs the
    poller, not a thread, until ``IDLE_TIMEOUT`` closes it (tests/test_serving.py holds 200)."""
    from gunicorn.workers import gthread

    gthread.DEFAULT_WORKER_DATA_TIMEOUT = FIRST_BYTE_WAIT


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another server holds, with one clear line (gunicorn would retry, then exit)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise SanaripError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads per process for pages (searches get their own, SANARIP_SEARCH_CONCURRENCY + _QUEUE).")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes sharing the port (one per core).")
@click.option("--debug", "flask_debug", is_flag=True, help="Use Flask's development server.")
def serve(host: str, port: int, threads: int, processes: int, flask_debug: bool) -> None:
    """Serve the web front end (gunicorn); a worker that dies is replaced."""
    from gunicorn.app.base import BaseApplication

    from web import create_app, serving_app

    settings = ready_runtime().settings  # migrated once, before any worker starts
    # Searches get threads of their own: at most this many wait for or run a query (search.base),
    # and a page never waits for a thread a search holds.
    search_threads = settings.search_concurrency + settings.search_queue
    if flask_debug:
        create_app(settings).run(host=host, port=port, debug=True)
        return
    _check_port_free(host, port)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": [bind], "workers": processes, "worker_class": "gthread",
                "threads": threads + search_threads,
                "backlog": BACKLOG, "graceful_timeout": 10, "accesslog": None, "proc_name": "sanarip",
                # Connections, idle or not, each process holds at once (the rest wait in the backlog),
                # and how long one may sit idle (kept alive, or connected without sending) before it is closed.
                "worker_connections": WORKER_CONNECTIONS, "keepalive": IDLE_TIMEOUT,
                # No request streams any more (the live page reads static files): a worker silent this long is hung.
                "timeout": 30,
                "post_worker_init": _short_first_byte_wait,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return serving_app(settings)  # in each worker, after the fork: its own connections

    click.echo(f"serving on http://{host}:{port}/ ({processes} process(es) x {threads} threads for pages "
               f"+ {search_threads} for searches)", err=True)
    Server().run()


COMMANDS = [serve]
