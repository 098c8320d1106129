"""NIST RTTM speaker segments: writing, reading, and the diarization error rate.

One ``SPEAKER <file-id> 1 <start> <duration> <NA> <NA> <who> <NA> <NA>`` line per contiguous run
of one speaker's speech. DER is scored on a 10 ms frame grid with a forgiveness collar around
every reference boundary and the optimal one-to-one mapping of hypothesis labels to reference
speakers (a small Hungarian solver: a sitting has tens of speakers, no SciPy needed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

FRAME = 0.01
_SAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def rttm_name(text: str) -> str:
    """A field without spaces (RTTM is whitespace-separated)."""
    return _SAFE.sub("_", text.strip()) or "unknown"


def to_rttm(file_id: str, runs: Iterable[tuple[float, float, str]]) -> str:
    """``runs``: (start, end, who) in seconds."""
    fid = rttm_name(file_id)
    lines = [f"SPEAKER {fid} 1 {start:.3f} {max(0.0, end - start):.3f} <NA> <NA> {rttm_name(who)} <NA> <NA>"
             for start, end, who in sorted(runs) if end > start]
    return "\n".join(lines) + ("\n" if lines else "")


def parse_rttm(text: str) -> list[tuple[float, float, str]]:
    """(start, end, speaker) of every SPEAKER line."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start, dur = float(f[3]), float(f[4])
            out.append((start, start + dur, f[7]))
    return out


def _grid(runs: list[tuple[float, float, str]], labels: list[str], n: int) -> np.ndarray:
    g = np.zeros((len(labels), n), bool)
    index = {lab: i for i, lab in enumerate(labels)}
    for start, end, who in runs:
        g[index[who], int(round(start / FRAME)):int(round(end / FRAME))] = True
    return g


def hungarian(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one assignment of rows to columns (rectangular allowed)."""
    transposed = cost.shape[0] > cost.shape[1]
    c = cost.T if transposed else cost
    n, m = c.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    p, way = np.zeros(m + 1, int), np.zeros(m + 1, int)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = np.full(m + 1, np.inf), np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = c[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            upd = free & (cur < minv[1:])
            minv[1:][upd] = cur[upd]
            way[1:][upd] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(cand.argmin()) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = [(int(p[j]) - 1, j - 1) for j in range(1, m + 1) if p[j]]
    return [(b, a) for a, b in pairs] if transposed else pairs


def der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]],
        collar: float = 0.25, uem: tuple[float, float] | None = None) -> dict[str, float]:
    """Diarization error rate (missed + false alarm + confusion over reference speech), with
    ``collar`` seconds around each reference boundary not scored, inside ``uem`` when given."""
    end = max([e for _s, e, _w in reference + hypothesis] + [0.0])
    n = int(round(end / FRAME)) + 1
    ref_labels = sorted({w for *_, w in reference})
    hyp_labels = sorted({w for *_, w in hypothesis})
    ref, hyp = _grid(reference, ref_labels, n), _grid(hypothesis, hyp_labels, n)
    scored = np.ones(n, bool)
    c = int(round(collar / FRAME))
    for start, stop, _w in reference:
        for t in (start, stop):
            k = int(round(t / FRAME))
            scored[max(0, k - c):k + c] = False
    if uem:
        scored[:int(round(uem[0] / FRAME))] = False
        scored[int(round(uem[1] / FRAME)):] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    total = float(n_ref.sum())
    if not total:
        return {"der": 0.0, "missed": 0.0, "false_alarm": 0.0, "confusion": 0.0}
    overlap = ref.astype(np.int32) @ hyp.T.astype(np.int32) if len(hyp_labels) else np.zeros((len(ref_labels), 0))
    mapping = hungarian(-overlap) if overlap.size else []
    correct = np.zeros(ref.shape[1])
    for r, h in mapping:
        correct += ref[r] & hyp[h]
    missed = np.maximum(0, n_ref - n_hyp).sum()
    false_alarm = np.maximum(0, n_hyp - n_ref).sum()
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum()
    return {"der": float((missed + false_alarm + confusion) / total), "missed": float(missed / total),
            "false_alarm": float(false_alarm / total), "confusion": float(confusion / total)}
