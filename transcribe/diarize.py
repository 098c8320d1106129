"""Speaker diarization: who spoke when, with the number of speakers unknown.

Speech regions come from the Silero VAD bundled with faster-whisper; each is covered by 1.6 s
windows every ``STEP`` seconds, embedded by the GE2E encoder (``transcribe.voice``) in large
batches (the LSTM is cheap per window only when many run together). Windows are clustered by
average-linkage agglomeration on cosine similarity, stopped at ``THRESHOLD`` (calibrated on
the held-out utterances and ``multi/`` recordings of the shared test data, never on the
sitting the DER figure is reported on), then refined once by reassigning every window to the
nearest cluster centroid (clusters of fewer than ``MIN_CLUSTER`` windows dissolve into
the others). Inside a speech region a label must hold for ``MIN_RUN`` windows, so
a one-speaker recording is not split on a cough. Labels are ``S1``, ``S2`` … in order of
first appearance, so the same audio always gets the same labels.

A sitting of hours has too many windows for O(n²) clustering: past ``MAX_CLUSTERED`` windows
an evenly spaced subset is clustered and the rest join the nearest centroid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sanarip.stenogram import Segment, Word
from transcribe.audio import SAMPLE_RATE, Audio, as_audio
from transcribe.voice import HOP, PARTIAL_FRAMES, VoiceEncoder, encoder, mel_spectrogram, normalize_volume

WINDOW = PARTIAL_FRAMES * HOP / SAMPLE_RATE  # 1.6 s
STEP = 0.5
THRESHOLD = 0.53  # average-linkage cosine similarity below which clusters stay apart (bench/speakers.py --calibrate)
MIN_RUN = 3  # windows a label must hold inside one speech region
MIN_REGION = 0.3  # speech shorter than this (s) carries no embedding of its own
MAX_CLUSTERED = 2500
MIN_CLUSTER = 4  # windows (about 2.5 s of speech) a cluster needs to stand as a speaker
BATCH = 256


@dataclass
class Turn:
    """A contiguous run of one speaker's speech (media seconds)."""

    start: float
    end: float
    label: str
    embedding: np.ndarray | None = None  # the turn's mean window embedding (L2-normed)


def speech_regions(audio: Audio | np.ndarray) -> list[tuple[float, float]]:
    """Speech regions cut at pauses of 0.3 s or more (a turn change has at least that)."""
    from transcribe.engine import speech_chunks

    return speech_chunks(audio, min_silence_ms=300, max_seconds=60.0)


def windows(regions: Iterable[tuple[float, float]]) -> list[tuple[int, float, float]]:
    """(region index, start, end) of the windows covering each region (short ones: one window)."""
    out = []
    for r, (start, end) in enumerate(regions):
        if end - start < MIN_REGION:
            continue
        n = max(1, int(np.floor((end - start - WINDOW) / STEP)) + 1) if end - start > WINDOW else 1
        span = (end - start - WINDOW) if end - start > WINDOW else 0.0
        starts = np.linspace(start, start + span, n) if n > 1 else [start]
        out += [(r, float(s), float(min(s + WINDOW, end))) for s in starts]
    return out


def embed_windows(audio: Audio, wins: list[tuple[int, float, float]], enc: VoiceEncoder | None = None) -> np.ndarray:
    """(n, 256) embeddings, one per window, each window level-normalised and zero-padded to 1.6 s."""
    enc = enc or encoder()
    need = PARTIAL_FRAMES * HOP
    out = np.zeros((len(wins), 256), np.float32)
    for b in range(0, len(wins), BATCH):
        mels = []
        for _r, start, end in wins[b:b + BATCH]:
            wav = normalize_volume(audio.read(start, end))
            wav = np.pad(wav, (0, max(0, need - len(wav))))[:need]
            mels.append(mel_spectrogram(wav)[:PARTIAL_FRAMES])
        out[b:b + len(mels)] = enc.embed_mels(np.stack(mels))
    return out


def _normed(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def agglomerate(emb: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Average-linkage clustering on cosine similarity until no pair is above ``threshold``;
    cluster ids per row (0-based, arbitrary order). Row maxima are cached, so a merge costs O(n)."""
    n = len(emb)
    if n <= 1:
        return np.zeros(n, int)
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    active = np.ones(n, bool)
    parent = np.arange(n)
    best = sim.argmax(axis=1)
    while True:
        cand = np.where(active, sim[np.arange(n), best], -np.inf)
        i = int(cand.argmax())
        if cand[i] < threshold:
            break
        j = int(best[i])
        merged = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j, :], sim[:, j] = -np.inf, -np.inf
        size[i] += size[j]
        active[j] = False
        parent[parent == j] = i
        stale = np.where(active & ((best == i) | (best == j)))[0]
        best[stale] = sim[stale].argmax(axis=1)
        better = active & (sim[:, i] > sim[np.arange(n), best])
        best[better] = i
        best[i] = sim[i].argmax()
    _, ids = np.unique(parent, return_inverse=True)
    return ids


def cluster(emb: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Cluster ids per window: agglomeration (on a subset when long), then one reassignment
    of every window to its nearest centroid."""
    if len(emb) == 0:
        return np.zeros(0, int)
    pick = np.linspace(0, len(emb) - 1, MAX_CLUSTERED).astype(int) if len(emb) > MAX_CLUSTERED else np.arange(len(emb))
    ids = agglomerate(emb[pick], threshold)
    sizes = np.bincount(ids)
    keep = [k for k in range(len(sizes)) if sizes[k] >= MIN_CLUSTER] or [int(sizes.argmax())]
    cents = _normed(np.stack([emb[pick][ids == k].mean(axis=0) for k in keep]))  # small clusters dissolve
    return (emb @ cents.T).argmax(axis=1)


def _smooth(labels: list[int]) -> list[int]:
    """Runs shorter than ``MIN_RUN`` inside a region take the label of a longer neighbour."""
    labels = list(labels)
    changed = True
    while changed and len(set(labels)) > 1:
        changed = False
        runs = []  # (start, length)
        for i, lab in enumerate(labels):
            if runs and labels[runs[-1][0]] == lab:
                runs[-1][1] += 1
            else:
                runs.append([i, 1])
        if len(runs) < 2:
            break
        k = min(range(len(runs)), key=lambda r: runs[r][1])
        start, length = runs[k]
        if length >= MIN_RUN:
            break
        left = runs[k - 1] if k > 0 else None
        right = runs[k + 1] if k + 1 < len(runs) else None
        donor = max((r for r in (left, right) if r), key=lambda r: r[1])
        for i in range(start, start + length):
            labels[i] = labels[donor[0]]
        changed = True
    return labels


def diarize(audio: Audio | np.ndarray, threshold: float = THRESHOLD, enc: VoiceEncoder | None = None,
            regions: list[tuple[float, float]] | None = None) -> list[Turn]:
    """The recording's speaker turns, in time order, labelled ``S1`` … by first appearance."""
    audio = as_audio(audio)
    regions = speech_regions(audio) if regions is None else regions
    wins = windows(regions)
    if not wins:
        return []
    emb = embed_windows(audio, wins, enc)
    ids = cluster(emb, threshold)
    turns: list[Turn] = []
    members: list[list[int]] = []
    for r, (r_start, r_end) in enumerate(regions):
        idx = [i for i, w in enumerate(wins) if w[0] == r]
        if not idx:
            continue
        labels = _smooth([int(ids[i]) for i in idx])
        cut = r_start
        for k, i in enumerate(idx):
            last = k + 1 == len(idx) or labels[k + 1] != labels[k]
            if not last:
                continue
            end = r_end if k + 1 == len(idx) else (wins[i][2] + wins[idx[k + 1]][1]) / 2
            first_k = next(m for m in range(k, -1, -1) if m == 0 or labels[m - 1] != labels[k])
            turns.append(Turn(round(cut, 3), round(end, 3), str(labels[k])))
            members.append(idx[first_k:k + 1])
            cut = end
    # Join a turn to the previous one when the same speaker goes on after a pause.
    names: dict[str, str] = {}
    for t in turns:
        t.label = names.setdefault(t.label, f"S{len(names) + 1}")
    joined: list[Turn] = []
    joined_members: list[list[int]] = []
    for t, m in zip(turns, members, strict=True):
        if joined and joined[-1].label == t.label:
            joined[-1].end = t.end
            joined_members[-1] += m
        else:
            joined.append(t)
            joined_members.append(list(m))
    for t, m in zip(joined, joined_members, strict=True):
        t.embedding = _normed(emb[m].mean(axis=0))
    return joined


def speech_runs(turns: list[Turn], regions: list[tuple[float, float]]) -> list[tuple[float, float, str]]:
    """(start, end, label) of each contiguous run of speech: turns intersected with the regions."""
    out = []
    for t in turns:
        for a, b in regions:
            s, e = max(a, t.start), min(b, t.end)
            if e - s > 0.01:
                out.append((round(s, 3), round(e, 3), t.label))
    return out


def label_at(turns: list[Turn], t: float) -> Turn | None:
    """The turn at (or nearest to) media time ``t``."""
    if not turns:
        return None
    return min(turns, key=lambda x: 0.0 if x.start <= t <= x.end else min(abs(x.start - t), abs(x.end - t)))


def assign(segments: list[Segment], turns: list[Turn]) -> list[Segment]:
    """Give each segment the label of the turn it overlaps most; a segment spanning a speaker
    change is split at the word boundary nearest the change (its words' times say where)."""
    out: list[Segment] = []
    for seg in segments:
        out += _split(seg, turns)
    return out


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _split(seg: Segment, turns: list[Turn]) -> list[Segment]:
    inside = [t for t in turns if _overlap(seg.start, seg.end, t.start, t.end) > 0]
    if len(inside) <= 1 or len(seg.words) < 2:
        best = max(inside, key=lambda t: _overlap(seg.start, seg.end, t.start, t.end), default=None)
        best = best or label_at(turns, (seg.start + seg.end) / 2)
        seg.speaker_label = best.label if best else None
        return [seg]
    # Each change inside the segment: cut before the word whose start is nearest to it.
    cuts = []
    for prev, nxt in zip(inside, inside[1:], strict=False):
        if prev.label == nxt.label:
            continue
        change = (prev.end + nxt.start) / 2
        k = min(range(1, len(seg.words)), key=lambda i: abs(seg.words[i].start - change))
        if not cuts or k > cuts[-1]:
            cuts.append(k)
    if not cuts:
        seg.speaker_label = inside[0].label
        return [seg]
    pieces: list[Segment] = []
    bounds = [0, *cuts, len(seg.words)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        words: list[Word] = seg.words[a:b]
        if not words:
            continue
        text = "".join(w.word for w in words).strip()
        piece = Segment(start=words[0].start if a else seg.start, end=seg.end if b == len(seg.words) else words[-1].end,
                        text=text, words=words, speaker=seg.speaker, speaker_id=seg.speaker_id,
                        language=seg.language, language_prob=seg.language_prob, unreliable=seg.unreliable)
        best = max(inside, key=lambda t: _overlap(piece.start, piece.end, t.start, t.end))
        piece.speaker_label = best.label
        pieces.append(piece)
    return pieces


class NotEnoughSpeech(ValueError):
    """A sample recording with too little speech to characterise a voice."""


MIN_ENROL_SECONDS = 3.0


def embed_speech(audio: Audio | np.ndarray, enc: VoiceEncoder | None = None,
                 min_seconds: float = MIN_ENROL_SECONDS) -> tuple[np.ndarray, float]:
    """(embedding, seconds of speech) of a one-speaker recording, the same way a turn is embedded
    (mean of its windows); fewer than ``min_seconds`` of speech raises :class:`NotEnoughSpeech`."""
    audio = as_audio(audio)
    regions = speech_regions(audio)
    seconds = round(sum(b - a for a, b in regions), 3)
    if seconds < min_seconds:
        found = "no speech" if not regions else f"only {seconds:.1f} s of speech"
        problem = NotEnoughSpeech(f"{found}; a voice sample needs at least {min_seconds:g} s")
        problem.seconds = seconds  # type: ignore[attr-defined] - for messages in other words
        raise problem
    emb = embed_windows(audio, windows(regions), enc)
    return _normed(emb.mean(axis=0)), seconds
