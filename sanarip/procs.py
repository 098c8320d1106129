"""Child processes that die with the process that started them (no orphaned ffmpeg)."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
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
