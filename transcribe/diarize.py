"""Speaker diarization: who spoke when, with the number of speakers unknown.

Speech regions come from the Silero VAD bundled with faster-whisper, cut at pauses of 0.3 s
(a change of speaker has at least that much, or the speakers overlap). Each region is covered
by 1.6 s windows every ``STEP`` seconds, embedded by the GE2E encoder (``transcribe.voice``;
one spectrogram per region, the LSTM over many windows at once).

Regions, not windows, are clustered: each region of at least ``MIN_SEGMENT`` seconds is a
seed whose embedding is the sum of its windows', and seeds are merged by centroid linkage
(``transcribe.clustering``) while the cosine of two clusters' means reaches ``THRESHOLD``.
A region longer than ``SEED_SECONDS`` seeds as equal pieces, so that one in which a speaker
cuts in without a pause seeds both voices. Clusters holding less than ``MIN_SPEAKER`` seconds
dissolve. Then every window is given the nearest remaining centroid by a Viterbi pass inside
its region (a change costs ``SWITCH_PENALTY``), which places a change inside a region and gives
short regions a label; a cluster left with less than ``MIN_SPEAKER`` seconds dissolves and the
pass runs again.
Labels are ``S1``, ``S2`` … in order of first appearance, so the same audio always gets the
same labels. The constants are calibrated by ``bench/speakers.py --calibrate`` on the held-out
utterances and the ``multi/`` recordings of the shared test data, never on the sitting the DER
figure is reported on.

A sitting of hours has thousands of regions: past ``MAX_CLUSTERED`` seeds the longest are
clustered and the others join the nearest centroid in the Viterbi pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from sanarip.stenogram import Segment, Word
from transcribe.audio import SAMPLE_RATE, Audio, as_audio
from transcribe.clustering import agglomerate, normed, viterbi
from transcribe.voice import (
    EMBEDDING_SIZE,
    HOP,
    N_MELS,
    PARTIAL_FRAMES,
    VoiceEncoder,
    encoder,
    mel_spectrogram,
    volume_gain,
)

WINDOW = PARTIAL_FRAMES * HOP / SAMPLE_RATE  # 1.6 s
STEP = WINDOW  # windows side by side: labels are decided per region, finer steps measured no better
# Centroid-linkage cosine below which clusters stay apart: the lowest at which at most 0.5% of
# pairs of held-out utterances of different speakers would merge (bench/speakers.py --calibrate).
THRESHOLD = 0.74
MIN_REGION = 0.3  # speech shorter than this (s) carries no embedding of its own
MIN_SEGMENT = 0.5  # regions shorter than this (s) seed no cluster; they take the nearest
MIN_SPEAKER = 2.0  # seconds of speech a cluster needs to stand as a speaker
SWITCH_PENALTY = 0.1  # cosine a change of speaker inside one region must gain
BRIDGE = 2.0  # pauses up to this (s) inside one speaker's turn count as the turn's (speech_runs)
MAX_CLUSTERED = 2500
SEED_SECONDS = 3.2  # a longer region seeds the clustering as pieces of at most this
GROUP_WINDOWS = 1024  # windows whose spectrograms are held at once (160 × 40 float32 each: 25 KB)


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


def windows(regions: Iterable[tuple[float, float]], step: float | None = None) -> list[tuple[int, float, float]]:
    """(region index, start, end) of the windows covering each region, every ``step`` seconds
    (the last one ends at the region's end; a short region gets one window). Starts fall on
    the 10 ms frame grid of the region, so that one spectrogram of the region serves them all."""
    step = STEP if step is None else step
    out = []
    for r, (start, end) in enumerate(regions):
        if end - start < MIN_REGION:
            continue
        span = max(0.0, end - start - WINDOW)
        n = int(np.ceil(span / step - 1e-9)) + 1 if span > 0 else 1
        for s in np.linspace(0.0, span, n) if n > 1 else [0.0]:
            s = start + round(s * SAMPLE_RATE / HOP) * HOP / SAMPLE_RATE
            out.append((r, round(s, 3), round(min(s + WINDOW, end), 3)))
    return out


def embed_windows(audio: Audio, wins: list[tuple[int, float, float]], enc: VoiceEncoder | None = None) -> np.ndarray:
    """(n, 256) embeddings, one per window, each level-normalised as if alone and zero-padded
    to 1.6 s. Windows of one region share that region's spectrogram: a window's is a slice of
    it, scaled by the square of the window's own gain (``normalize_volume`` is a gain, the
    spectrogram is power), so the front end costs one pass over the audio however dense the
    windows are."""
    enc = enc or encoder()
    by_region: dict[int, list[int]] = {}
    for i, (r, _s, _e) in enumerate(wins):
        by_region.setdefault(r, []).append(i)
    out = np.zeros((len(wins), EMBEDDING_SIZE), np.float32)
    group: list[list[int]] = []
    for k, idx in enumerate(by_region.values()):  # spectrograms of a few regions at a time: memory stays flat
        group.append(idx)
        if k + 1 == len(by_region) or sum(map(len, group)) >= GROUP_WINDOWS:
            rows = [i for g in group for i in g]
            mels = np.zeros((len(rows), PARTIAL_FRAMES, N_MELS), np.float32)
            with threadpool_limits(1, user_api="blas"):  # small products: BLAS threads would only wait on each other
                at = 0
                for g in group:
                    _region_mels(audio, [wins[i] for i in g], mels[at:at + len(g)])
                    at += len(g)
            out[rows] = enc.embed_mels(mels)
            group = []
    return out


def _region_mels(audio: Audio, wins: list[tuple[int, float, float]], mels: np.ndarray) -> None:
    """Fill ``mels`` (one row per window) from one spectrogram of the windows' region."""
    first = wins[0][1]
    wav = audio.read(first, max(w[2] for w in wins))
    need = int(round((max(w[1] for w in wins) - first) * SAMPLE_RATE)) + PARTIAL_FRAMES * HOP
    wav = np.pad(wav, (0, max(0, need - len(wav))))
    mel = mel_spectrogram(wav)
    energy = np.concatenate([[0.0], np.cumsum(wav.astype(np.float64) ** 2)])
    for row, (_r, start, end) in enumerate(wins):
        a = int(round((start - first) * SAMPLE_RATE))
        b = a + int(round((end - start) * SAMPLE_RATE))
        f = int(round((start - first) * SAMPLE_RATE / HOP))
        mels[row] = mel[f:f + PARTIAL_FRAMES] * volume_gain(float(energy[b] - energy[a]), b - a) ** 2


def cluster(regions: list[tuple[float, float]], wins: list[tuple[int, float, float]], emb: np.ndarray,
            threshold: float = THRESHOLD) -> np.ndarray:
    """A cluster id per window (see the module's doc): regions clustered, windows relabelled."""
    if len(emb) == 0:
        return np.zeros(0, int)
    by_region: dict[int, list[int]] = {}
    for i, (r, _s, _e) in enumerate(wins):
        by_region.setdefault(r, []).append(i)
    pieces = _pieces(regions, wins, by_region)
    seconds = [b - a for a, b, _idx in pieces]
    seeds = [k for k in range(len(pieces)) if seconds[k] >= MIN_SEGMENT] or list(range(len(pieces)))
    if len(seeds) > MAX_CLUSTERED:
        seeds = sorted(sorted(seeds, key=lambda k: -seconds[k])[:MAX_CLUSTERED])
    sums = np.stack([emb[pieces[k][2]].sum(axis=0) for k in seeds])
    ids = agglomerate(sums, threshold)
    held = np.bincount(ids, weights=[seconds[k] for k in seeds])
    keep = [k for k in range(len(held)) if held[k] >= MIN_SPEAKER] or [int(held.argmax())]
    centroids = normed(np.stack([sums[ids == k].sum(axis=0) for k in keep]))
    span = np.array([e - s for _r, s, e in wins])
    while True:  # a cluster left with less than MIN_SPEAKER seconds after relabelling dissolves too
        labels = np.zeros(len(emb), int)
        for idx in by_region.values():
            labels[idx] = viterbi(emb[idx] @ centroids.T, SWITCH_PENALTY)
        held = np.bincount(labels, weights=span, minlength=len(centroids))
        if len(centroids) == 1 or held.min() >= MIN_SPEAKER:
            return labels
        centroids = np.delete(centroids, int(held.argmin()), axis=0)


def _pieces(regions: list[tuple[float, float]], wins: list[tuple[int, float, float]],
            by_region: dict[int, list[int]]) -> list[tuple[float, float, list[int]]]:
    """(start, end, windows) of the seeds: each region cut into equal pieces of at most
    ``SEED_SECONDS``, so that a region in which the speaker changes without a pause seeds
    clusters of each voice, not one of both (a window belongs to the piece holding its middle)."""
    out = []
    for r, idx in by_region.items():
        start, end = regions[r]
        n = max(1, int(np.ceil((end - start) / SEED_SECONDS - 1e-9)))
        edges = np.linspace(start, end, n + 1)
        parts: list[list[int]] = [[] for _ in range(n)]
        for i in idx:
            middle = (wins[i][1] + wins[i][2]) / 2
            parts[min(n - 1, int(np.searchsorted(edges, middle, side="right")) - 1)].append(i)
        out += [(float(edges[k]), float(edges[k + 1]), p) for k, p in enumerate(parts) if p]
    return out


def diarize(audio: Audio | np.ndarray, threshold: float = THRESHOLD, enc: VoiceEncoder | None = None,
            regions: list[tuple[float, float]] | None = None) -> list[Turn]:
    """The recording's speaker turns, in time order, labelled ``S1`` … by first appearance."""
    audio = as_audio(audio)
    regions = speech_regions(audio) if regions is None else regions
    wins = windows(regions)
    if not wins:
        return []
    emb = embed_windows(audio, wins, enc)
    ids = cluster(regions, wins, emb, threshold)
    pieces: list[tuple[float, float, int, list[int]]] = []  # (start, end, cluster, windows)
    by_region: dict[int, list[int]] = {}
    for i, (r, _s, _e) in enumerate(wins):
        by_region.setdefault(r, []).append(i)
    for r, idx in sorted(by_region.items()):
        cut = regions[r][0]
        for k, i in enumerate(idx):
            if k + 1 < len(idx) and ids[idx[k + 1]] == ids[i]:
                continue
            end = regions[r][1] if k + 1 == len(idx) else (wins[i][2] + wins[idx[k + 1]][1]) / 2
            first = next(m for m in range(k, -1, -1) if m == 0 or ids[idx[m - 1]] != ids[i])
            pieces.append((cut, end, int(ids[i]), idx[first:k + 1]))
            cut = end
    # One turn while the same speaker goes on, across pauses.
    names: dict[int, str] = {}
    turns: list[Turn] = []
    members: list[list[int]] = []
    for start, end, k, m in pieces:
        label = names.setdefault(k, f"S{len(names) + 1}")
        if turns and turns[-1].label == label:
            turns[-1].end = round(end, 3)
            members[-1] += m
        else:
            turns.append(Turn(round(start, 3), round(end, 3), label))
            members.append(list(m))
    for t, m in zip(turns, members, strict=True):
        t.embedding = normed(emb[m].mean(axis=0))
    return turns


def speech_runs(turns: list[Turn], regions: list[tuple[float, float]],
                bridge: float = BRIDGE) -> list[tuple[float, float, str]]:
    """(start, end, label) of each contiguous run of speech: turns intersected with the regions,
    a pause of up to ``bridge`` seconds inside a turn counted as the speaker's (a breath or a
    hesitation is part of a turn; references mark it so)."""
    out: list[tuple[float, float, str]] = []
    for t in turns:
        for a, b in regions:
            s, e = max(a, t.start), min(b, t.end)
            if e - s <= 0.01:
                continue
            if out and out[-1][2] == t.label and s - out[-1][1] <= bridge:
                out[-1] = (out[-1][0], round(e, 3), t.label)
            else:
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
    return normed(emb.mean(axis=0)), seconds
