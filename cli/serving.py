"""``serve``: the web front end under gunicorn (threaded workers, one per core)."""

from __future__ import annotations

import socket
from typing import Any

import click

from cli.common import ready_runtime
from sanarip.errors import SanaripError


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
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes sharing the port (one per core).")
@click.option("--debug", "flask_debug", is_flag=True, help="Use Flask's development server.")
def serve(host: str, port: int, threads: int, processes: int, flask_debug: bool) -> None:
    """Serve the web front end (gunicorn); a worker that dies is replaced."""
    from gunicorn.app.base import BaseApplication

    from web import create_app

    settings = ready_runtime().settings  # migrated once, before any worker starts
    if flask_debug:
        create_app(settings).run(host=host, port=port, debug=True)
        return
    _check_port_free(host, port)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": [bind], "workers": processes, "worker_class": "gthread", "threads": threads,
                "backlog": 1024, "keepalive": 5, "graceful_timeout": 10, "accesslog": None,
                "proc_name": "sanarip",
                # The live page's event streams stay open for long: a worker busy with one is not hung.
                "timeout": 120,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings)  # in each worker, after the fork: its own connections

    click.echo(f"serving on http://{host}:{port}/ ({processes} process(es) x {threads} threads)", err=True)
    Server().run()


COMMANDS = [serve]
