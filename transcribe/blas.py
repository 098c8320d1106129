"""One BLAS thread per calling thread, so that the speaker encoder can run its own threads.

The GE2E encoder's LSTM is 480 small matrix products per batch of windows. OpenBLAS threads
each of them and, on a machine whose cores are busy (a worker beside the transcriber, other
jobs), its threads spin waiting for each other: measured here, two BLAS threads on a loaded
2-core machine ran the encoder 4–10x slower than one. The encoder therefore asks for one BLAS
thread in each of its own threads (``openblas_set_num_threads_local``, OpenBLAS 0.3.27+, which
changes only the calling thread) and spreads batches over the cores itself.

The function is looked up in the OpenBLAS that NumPy has already loaded (its wheel bundles
one, ``scipy_openblas``); with another BLAS, or an OpenBLAS without the call, nothing changes
and :func:`single_threaded` is a no-op.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux: /proc/self/maps)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.isfile(p))


@cache
def _set_local() -> Any | None:
    import numpy  # noqa: F401  - loads NumPy's BLAS, so that it is in the process's maps

    for path in _loaded_openblas():
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


def available() -> bool:
    """Whether the BLAS thread count of one thread can be set (else the BLAS keeps its own)."""
    return _set_local() is not None


@contextmanager
def single_threaded() -> Iterator[None]:
    """Inside: this thread's BLAS calls run on this thread only; the previous count after."""
    fn = _set_local()
    if fn is None:
        yield
        return
    previous = fn(1)
    try:
        yield
    finally:
        fn(max(1, previous))


def cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
