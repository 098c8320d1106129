"""What every area's commands share: the process's Runtime, JSON output, progress bars, times."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from typing import Any

import click

from sanarip.errors import SanaripError
from sanarip.runtime import Runtime


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def runtime(ctx: click.Context | None = None) -> Runtime:
    """The process's Runtime, created on first use (settings errors surface here)."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if "sanarip.runtime" not in root.meta:
        root.meta["sanarip.runtime"] = Runtime()
        root.call_on_close(root.meta["sanarip.runtime"].close)
    return root.meta["sanarip.runtime"]


def ready_runtime() -> Runtime:
    """The Runtime with its database migrated to the latest schema."""
    rt = runtime()
    rt.db.upgrade()
    return rt


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[dict], None]]:
    """Yields ``on_progress(progress)``, which drives a tqdm bar on stderr from a job's progress.

    Log records go out through the bar (printed above it, never across it), and the bar never
    passes 100 % (a stage may report more done than its first estimate of the total)."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(), tqdm(desc=label, unit="step", file=sys.stderr, mininterval=0.5, leave=False) as t:
        def on_progress(p: dict) -> None:
            total = len(p["spans"]) if isinstance(p.get("spans"), list) else p.get("total")
            done = p.get("done", p.get("remuxed", p.get("indexed")))
            if total:
                t.total = max(total, t.n)
            if done is not None:
                t.n = min(done, t.total) if t.total else done
                t.refresh()
        yield on_progress


def run_chain(rt: Runtime, kind: str, payload: dict[str, Any], label: str) -> None:
    """Run a job in the foreground, then each job the pipeline queues after it, with a bar each."""
    import worker

    while True:
        with progress_bar(f"{kind} {label}") as on_progress:
            following = worker.run_inline(rt, kind, payload, on_progress)
        if not following:
            return
        kind, payload = following[0].kind, following[0].to_dict()


def parse_until(value: str, tz: tzinfo) -> datetime:
    """The next HH:MM in ``tz`` (today, else tomorrow)."""
    try:
        hh, mm = (int(x) for x in value.split(":"))
        now = datetime.now(tz)
        end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    except ValueError:
        raise click.BadParameter(f"expected HH:MM, got {value!r}", param_hint="--until") from None
    return end if end > now else end + timedelta(days=1)


def parse_time(value: str, tz: tzinfo, name: str) -> datetime:
    """An ISO time; without an offset it is in ``tz``."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO time such as 2026-03-01T10:00, got {value!r}",
                                 param_hint=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def read_password() -> str:
    """Prompted twice on a terminal; one line from a pipe."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        raise SanaripError("no password given on standard input")
    return line.rstrip("\r\n")
