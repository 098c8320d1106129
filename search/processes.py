"""The search processes: FTS5 queries run in separate processes at the lowest CPU priority.

A query's work (SQLite's scan, the facets, the snippets) done in the web process holds that
process's interpreter lock for much of its time, and every cheap page the process serves meanwhile
waits for the lock, whatever the search thread's niceness (the lock is not the scheduler's). In
their own processes at nice 19 expensive queries take only the CPU the site leaves, and none of
its lock.

A search process is ``python -m search.processes``: it reads pickled ``(function, arguments)``
calls on stdin and writes each pickled outcome to stdout (the value, or the exception raised).
Not ``multiprocessing``: its children re-import the parent's main script, which a script without
an ``if __name__ == "__main__"`` guard (or a forked server) does not survive. A process serves one
call at a time; idle ones are kept (one pool per process, shared by its indexes) and exit when
the parent does (end of stdin).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from search.base import SearchUnavailable

NICENESS = 19  # the lowest priority: a search process runs when nothing else wants the CPU
ROOT = Path(__file__).resolve().parent.parent  # importable in the child whatever its working directory
T = TypeVar("T")


class _Process:
    """One search process and its pipes."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "search.processes"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.pid = os.getpid()  # the parent's: a fork does not share the child

    def call(self, fn: Callable[..., Any], args: tuple) -> tuple[bool, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        pickle.dump((fn, args), self.proc.stdin, pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()
        return pickle.load(self.proc.stdout)

    def end(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the child exits at the end of its input


_lock = threading.Lock()
_idle: list[_Process] = []


def run(keep: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a search process (both must pickle); its exception, if it raises one.

    At most ``keep`` idle processes are kept for the next calls (the index's concurrency).
    """
    with _lock:
        while _idle and _idle[-1].pid != os.getpid():
            _idle.pop()  # inherited through a fork: the parent's
        process = _idle.pop() if _idle else None
    if process is None:
        process = _Process()
    try:
        ok, value = process.call(fn, args)
    except (OSError, EOFError, pickle.UnpicklingError):
        process.end()
        process.proc.kill()
        process.proc.wait()
        raise SearchUnavailable("a search process died; retry") from None
    with _lock:
        if len(_idle) < keep:
            _idle.append(process)
            process = None
    if process is not None:
        process.end()
        process.proc.wait()
    if not ok:
        raise value
    return value


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """A search process's loop: one call at a time until the parent closes the pipe."""
    while True:
        try:
            fn, args = pickle.load(requests)
        except EOFError:
            return
        try:
            answer = pickle.dumps((True, fn(*args)), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - the caller re-raises it
            try:
                answer = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an exception that does not pickle: its message does
                answer = pickle.dumps((False, SearchUnavailable(f"search failed: {exc!r}")), pickle.HIGHEST_PROTOCOL)
        answers.write(answer)
        answers.flush()


if __name__ == "__main__":
    os.nice(max(0, NICENESS - os.nice(0)))
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the answers
    _serve(sys.stdin.buffer, out)
