"""The two pieces of NumPy diarization leans on: agglomerative clustering of speech segments
by the cosine of their mean embeddings, and a Viterbi pass that keeps a label inside a
segment unless the voice really changes.

Why centroid linkage over segments rather than average linkage over windows: one 1.6 s
window's GE2E embedding is noisy (two windows of one speaker often score below two of
different speakers), while the mean over a few seconds is not; merging the segments whose
*means* agree, and re-taking the mean after each merge, compares ever longer stretches of
speech, so the threshold can sit where different speakers' utterances almost never reach.
"""

from __future__ import annotations

import numpy as np


def normed(x: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to unit length."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def agglomerate(sums: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster ids (0-based, by first member) for rows of summed embeddings: repeatedly merge
    the two clusters whose summed embeddings have the highest cosine, while it reaches
    ``threshold``. Each row's best partner is cached, so a merge costs one (n, d) product."""
    n = len(sums)
    if n <= 1:
        return np.zeros(n, int)
    total = np.array(sums, dtype=np.float64)
    unit = normed(total)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    active = np.ones(n, bool)
    parent = np.arange(n)
    rows = np.arange(n)
    best = sim.argmax(axis=1)
    while True:
        cand = np.where(active, sim[rows, best], -np.inf)
        i = int(cand.argmax())
        if cand[i] < threshold:
            break
        j = int(best[i])
        total[i] += total[j]
        unit[i] = normed(total[i])
        row = unit @ unit[i]
        row[~active] = -np.inf
        row[[i, j]] = -np.inf
        sim[i], sim[:, i] = row, row
        sim[j], sim[:, j] = -np.inf, -np.inf
        active[j] = False
        parent[parent == j] = i
        stale = active & ((best == i) | (best == j))
        best[stale] = sim[stale].argmax(axis=1)
        better = active & (sim[:, i] > sim[rows, best])
        best[better] = i
        best[i] = int(sim[i].argmax())
    _, first = np.unique(parent, return_index=True)
    order = {int(parent[k]): c for c, k in enumerate(sorted(first))}
    return np.array([order[int(p)] for p in parent])


def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:
    """The label path through ``scores`` (steps, labels) with the highest total score, each
    change of label costing ``penalty``."""
    steps, k = scores.shape
    total = scores[0].astype(np.float64)
    back = np.zeros((steps, k), int)
    for t in range(1, steps):
        best = int(total.argmax())
        move = total[best] - penalty
        stay = total >= move
        back[t] = np.where(stay, np.arange(k), best)
        total = np.where(stay, total, move) + scores[t]
    path = np.zeros(steps, int)
    path[-1] = int(total.argmax())
    for t in range(steps - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
