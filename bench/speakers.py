"""Speaker figures, one run, on ../shared/testdata/speakers (SANARIP_TESTDATA):

* DER (0.25 s collar, optimal one-to-one label mapping) on ``sitting_shared`` and on each
  ``multi/`` recording (inside its UEM where it has one) — goal <= 15% on the sitting;
* identification with every enrolled speaker enrolled from its one utterance: share of the
  enrolled speakers' reference speech time whose proposal is the right person (goal >= 90%),
  share of all reference speech proposed wrongly, the guest proposed as anyone included (<= 3%);
* diarization + identification time ÷ audio duration (goal <= 0.05), and its CPU time (on a
  loaded machine wall time is mostly waiting), beside the bare encoder's time on the same
  windows (the baseline measured in this run);
* agreement of the NumPy encoder with the stored torch reference embeddings (max abs diff);
* keystrokes to attribute every turn of the sitting, with proposals and without (a model of
  the editor: see ``keystrokes``).

With ``--calibrate``: the two thresholds from the held-out utterances only (never
``sitting_shared``): the clustering threshold as the lowest cosine of two utterances' mean
embeddings that at most 0.5% of different-speaker pairs reach (a false merge early in the
agglomeration is never undone, so it sits well above the equal-error point), and the voice
threshold as the lowest at which the speech time of held-out utterances of a speaker *treated
as not enrolled* (their own profile left out: the best of the others' profiles), and of the
guest, that would be proposed as someone stays within the issue's wrong budget
(``WRONG_BUDGET``, 3%: a worst case, every speaker in turn absent, of the figure's "proposed
wrongly"). Then DER around the clustering threshold on synthetic sittings
built from held-out and guest utterances (seeded, not the shared sitting: three with 0.5–2 s
pauses, two where speakers cut in within 0.15 s) and on each ``multi/`` recording.

    python bench/speakers.py [--calibrate]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from sanarip.rttm import der, parse_rttm  # noqa: E402
from sanarip.speakers import VOICE_THRESHOLD, WRONG_BUDGET, Profile, identify  # noqa: E402
from transcribe import diarize as dz  # noqa: E402
from transcribe.speaker_jobs import label_embeddings  # noqa: E402
from transcribe.voice import CHUNK, VoiceEncoder, cores, normalize_volume  # noqa: E402

DATA = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata")) / "speakers"


def load(rel: str) -> np.ndarray:
    from faster_whisper import decode_audio

    return decode_audio(str(DATA / rel), sampling_rate=16000)


def manifest() -> list[dict]:
    return [json.loads(line) for line in (DATA / "manifest.jsonl").read_text().splitlines() if line.strip()]


def enrolments(enc: VoiceEncoder) -> list[Profile]:
    enroll = json.loads((DATA / "enroll.json").read_text())["enroll"]
    return [Profile(i, spk, dz.embed_speech(load(rel), enc)[0]) for i, (spk, rel) in enumerate(sorted(enroll.items()))]


def uem_of(name: str) -> tuple[float, float] | None:
    path = DATA / f"{name}.uem"
    if not path.is_file():
        return None
    f = path.read_text().split()
    return float(f[2]), float(f[3])


def keystrokes(turns: list[tuple[str, str | None]]) -> tuple[int, int, int]:
    """(with proposals turn by turn, with one accept-all, without) for ``turns`` = (true speaker,
    proposed speaker or None), in the keys of the editor (web/static/editor-speakers.js; moving to
    a turn is not counted). Without: each turn is selected (Alt+T) and given its speaker in the
    picker (Alt+S, two letters of the name, Enter): 5. With: a right proposal is accepted with
    Alt+A (1), any other turn as without; or Alt+Shift+A once accepts every proposal, and each turn
    whose proposal was not right is then done as without."""
    without = 5 * len(turns)
    one_by_one = sum(1 if proposed == truth else 5 for truth, proposed in turns)
    accept_all = 1 + sum(0 if proposed == truth else 5 for truth, proposed in turns)
    return one_by_one, accept_all, without


def _utterance_embeddings(enc: VoiceEncoder, roles: tuple[str, ...]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The mean window embedding of every manifest utterance of ``roles`` (L2-normed), its
    speaker and its seconds of speech."""
    embs, speakers, seconds = [], [], []
    for m in manifest():
        if m["role"] in roles:
            emb, sec = dz.embed_speech(load(m["file"]), enc, min_seconds=0.0)
            embs.append(emb)
            speakers.append(m["speaker_id"])
            seconds.append(sec)
    return np.stack(embs), speakers, np.array(seconds)


def synthetic_sitting(seed: int, turns: int = 30, pauses: tuple[float, float] = (0.5, 2.0),
                      ) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """A sitting made of held-out and guest utterances in a random order (no speaker twice in a
    row), each cut to its speech, ``pauses`` seconds apart (0–0.15 s: speakers cutting in):
    (audio, reference turns)."""
    rng = np.random.default_rng(seed)
    pool = [m for m in manifest() if m["role"] in ("heldout", "guest")]
    pieces, ref, t, last = [np.zeros(16000, np.float32)], [], 1.0, None
    for _ in range(turns):
        cands = [m for m in pool if m["speaker_id"] != last]
        m = cands[int(rng.integers(len(cands)))]
        last = m["speaker_id"]
        audio = load(m["file"])
        regions = dz.speech_regions(audio)
        if not regions:
            continue
        audio = audio[int((regions[0][0] + 0.2) * 16000):int((regions[-1][1] - 0.2) * 16000)]
        ref.append((round(t, 3), round(t + len(audio) / 16000, 3), m["speaker_id"]))
        pause = np.zeros(int(rng.uniform(*pauses) * 16000), np.float32)
        pieces += [audio, pause]
        t += (len(audio) + len(pause)) / 16000
    return np.concatenate(pieces), ref


def calibrate(enc: VoiceEncoder) -> None:
    """The two thresholds from held-out utterances only, then DER around the clustering one on
    synthetic sittings of held-out utterances and on ``multi/`` (see the module's doc)."""
    emb, speakers, seconds = _utterance_embeddings(enc, ("heldout", "guest"))
    sim = emb @ emb.T
    pairs = [(i, j) for i in range(len(speakers)) for j in range(i + 1, len(speakers))]
    same = np.array([sim[i, j] for i, j in pairs if speakers[i] == speakers[j]])
    diff = np.array([sim[i, j] for i, j in pairs if speakers[i] != speakers[j]])
    grid = np.round(np.arange(0.50, 0.951, 0.01), 2)
    merge = float(min(t for t in grid if np.mean(diff >= t) <= 0.005))
    print(f"clustering: same-speaker utterance cosine median {np.median(same):.3f}, different "
          f"{np.median(diff):.3f}; lowest threshold merging <= 0.5% of different-speaker pairs {merge:.2f} "
          f"(same-speaker pairs kept apart {np.mean(same < merge):.3f}); in use {dz.THRESHOLD}")
    profiles = enrolments(enc)
    names = [p.name for p in profiles]
    cents = np.stack([p.centroid for p in profiles])
    genuine, impostor = [], []
    for spk, v in zip(speakers, emb, strict=True):
        scores = cents @ v
        if spk in names:
            genuine.append(float(scores[names.index(spk)]))
        # As if the speaker were never enrolled: the best of the others' profiles.
        impostor.append(float(max(s for n, s in zip(names, scores, strict=True) if n != spk)))
    genuine_a, impostor_a = np.array(genuine), np.array(impostor)
    genuine_s = np.array([sec for spk, sec in zip(speakers, seconds, strict=True) if spk in names])

    def proposed_time(t: float) -> float:  # share of held-out speech time proposed as someone else
        return float(seconds[impostor_a >= t].sum() / seconds.sum())

    voice = float(min(t for t in grid if proposed_time(t) <= WRONG_BUDGET))
    print(f"voice: genuine median {np.median(genuine_a):.3f}, best unenrolled match median "
          f"{np.median(impostor_a):.3f}, max {impostor_a.max():.3f} over {len(impostor_a)} utterances; lowest "
          f"threshold at which <= {WRONG_BUDGET:.0%} of unenrolled speech time is proposed {voice:.2f} "
          f"(unenrolled utterances proposed {np.mean(impostor_a >= voice):.3f}, time {proposed_time(voice):.3f}; "
          f"genuine accepted {np.mean(genuine_a >= voice):.3f}, time "
          f"{genuine_s[genuine_a >= voice].sum() / genuine_s.sum():.3f}); in use {VOICE_THRESHOLD}")
    for t in (voice - 0.02, voice - 0.01, voice + 0.01, voice + 0.02):
        print(f"  at {t:.2f}: unenrolled time proposed {proposed_time(t):.3f}, genuine accepted "
              f"{np.mean(genuine_a >= t):.3f}")
    thresholds = (merge - 0.04, merge, merge + 0.04)

    voices = (voice - 0.02, voice, voice + 0.02)

    def around(audio: np.ndarray, ref: list[tuple[float, float, str]], uem: tuple[float, float] | None,
               identify_too: bool = False) -> str:
        regions = dz.speech_regions(audio)
        turns = {t: dz.diarize(audio, t, enc, regions) for t in thresholds}
        runs = {t: dz.speech_runs(turns[t], regions) for t in thresholds}
        out = ", ".join(f"{t:.2f}: {der(ref, runs[t], uem=uem)['der']:.3f}" for t in thresholds)
        if identify_too:  # per cluster, at the clustering threshold in use, around the voice one
            embs = label_embeddings(turns[dz.THRESHOLD])
            found = []
            for v in voices:
                proposals = {lab: (p or {}).get("name") for lab, e in embs.items() for p in [identify(e, profiles, v)]}
                right, wrong = identification(ref, runs[dz.THRESHOLD], proposals, set(names))
                found.append(f"{v:.2f}: right {right:.3f}, wrong {wrong:.3f}")
            out += "; identification at voice threshold " + ", ".join(found)
        return out

    for seed, pauses in ((1, (0.5, 2.0)), (2, (0.5, 2.0)), (3, (0.5, 2.0)), (11, (0.0, 0.15)), (12, (0.0, 0.15))):
        audio, ref = synthetic_sitting(seed, pauses=pauses)
        print(f"  synthetic sitting {seed} ({len(audio) / 16000:.0f} s, pauses {pauses[0]}-{pauses[1]} s) DER: "
              f"{around(audio, ref, None, identify_too=True)}", flush=True)
    for name in sorted(p.stem for p in (DATA / "multi").glob("*.rttm")):
        ref = parse_rttm((DATA / "multi" / f"{name}.rttm").read_text())
        print(f"  multi/{name} DER: {around(load(f'multi/{name}.wav'), ref, uem_of('multi/' + name))}", flush=True)


def identification(ref: list[tuple[float, float, str]], hyp_runs: list[tuple[float, float, str]],
                   proposals: dict[str, str | None], enrolled: set[str]) -> tuple[float, float]:
    """(right share of enrolled speakers' reference time, wrong share of all reference time)."""
    frame = 0.01
    n = int(max(e for _s, e, _w in ref + hyp_runs) / frame) + 1
    hyp = np.full(n, None, dtype=object)
    for s, e, lab in hyp_runs:
        hyp[int(s / frame):int(e / frame)] = proposals.get(lab)
    right = wrong = enrolled_total = total = 0
    for s, e, who in ref:
        got = hyp[int(s / frame):int(e / frame)]
        total += len(got)
        if who in enrolled:
            enrolled_total += len(got)
            right += int(np.sum(got == who))
        wrong += int(np.sum([g is not None and g != who for g in got]))
    return right / enrolled_total, wrong / total


def figures(enc: VoiceEncoder) -> None:
    import json as _json

    from faster_whisper import decode_audio

    reference = _json.loads((ROOT / "tests" / "fixtures" / "resemblyzer_reference.json").read_text())
    diffs = [float(np.abs(enc.embed_utterance(normalize_volume(
        decode_audio(str(DATA / it["file"]))[:6 * 16000])) - np.array(it["embedding"])).max())
        for it in reference["items"]]
    print(f"agreement with the torch reference: max |diff| {max(diffs):.2e} over {len(diffs)} utterances")

    profiles = enrolments(enc)
    enrolled = {p.name for p in profiles}
    enc.embed_mels(np.zeros((4 * CHUNK, 160, 40), np.float32))  # warm: a worker's encoder lives as long as it does
    for name in ["sitting_shared"] + [f"multi/{p.stem}" for p in sorted((DATA / "multi").glob("*.rttm"))]:
        audio = load(f"{name}.wav")
        duration = len(audio) / 16000
        t0, c0 = time.perf_counter(), time.process_time()
        regions = dz.speech_regions(audio)
        turns = dz.diarize(audio, enc=enc, regions=regions)
        proposals = {lab: (p or {}).get("name") for lab, emb in label_embeddings(turns).items()
                     for p in [identify(emb, profiles)]}
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        hyp = dz.speech_runs(turns, regions)
        ref = parse_rttm((DATA / f"{name}.rttm").read_text())
        d = der(ref, hyp, uem=uem_of(name))
        line = (f"{name}: DER {d['der']:.3f} (missed {d['missed']:.3f}, false alarm {d['false_alarm']:.3f}, "
                f"confusion {d['confusion']:.3f}); {len({t.label for t in turns})} labels for "
                f"{len({w for *_, w in ref})} speakers")
        if name == "sitting_shared":
            t1 = time.perf_counter()
            enc.embed_mels(np.zeros((len(dz.windows(regions)), 160, 40), np.float32))
            bare = time.perf_counter() - t1
            right, wrong = identification(ref, hyp, proposals, enrolled)
            line += (f"\n  identification: right {right:.3f} of enrolled speakers' time (goal >= 0.90), "
                     f"wrong {wrong:.3f} of all speech (goal <= 0.03), voice threshold {VOICE_THRESHOLD}"
                     f"\n  diarization + identification: {elapsed:.1f} s for {duration:.1f} s of audio = "
                     f"{elapsed / duration:.3f} x real time (goal <= 0.05; CPU time {cpu:.1f} s = "
                     f"{cpu / duration:.3f} x, on {cores()} cores); the bare encoder on the same windows "
                     f"{bare:.1f} s (ratio {elapsed / max(bare, 1e-9):.2f})")
            truth = [(max(((min(e, te) - max(s, ts), w) for s, e, w in ref), default=(0, None))[1],
                      proposals.get(t.label)) for t in turns for ts, te in [(t.start, t.end)]]
            with_, accept_all, without = keystrokes(truth)
            line += (f"\n  keystrokes to attribute all {len(truth)} turns: {with_} with proposals (Alt+A per turn), "
                     f"{accept_all} with one accept-all (Alt+Shift+A), {without} without")
        print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calibrate", action="store_true")
    args = ap.parse_args()
    enc = VoiceEncoder()
    calibrate(enc) if args.calibrate else figures(enc)


if __name__ == "__main__":
    main()
