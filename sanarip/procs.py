"""Child processes that die with the process that started them (no orphaned ffmpeg)."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen:
    """Start ``cmd``; on Linux the kernel kills it when the spawning thread's process dies.

    Call it from a thread that outlives the child (the kernel signals on the death of the
    creating thread).
    """
    return subprocess.Popen(cmd, preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """Ask a child to finish (SIGINT lets ffmpeg close its files), then kill it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def serve_forked(count: int, run: Callable[[int], None], after_fork: Callable[[], object] | None = None) -> None:
    """Run ``run(i)`` in ``count`` forked children (they die with us); stop them all on SIGTERM/SIGINT.

    ``after_fork`` runs in the parent once every child is started (to close what only they use).
    """
    import os

    children = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            _die_with_parent()
            try:
                run(index)
            finally:
                os._exit(0)
        children.append(pid)
    if after_fork:
        after_fork()

    def stop_all(*_args) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    for pid in children:
        os.waitpid(pid, 0)
