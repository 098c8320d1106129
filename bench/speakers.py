"""Speaker figures, one run, on ../shared/testdata/speakers (SANARIP_TESTDATA):

* DER (0.25 s collar, optimal one-to-one label mapping) on ``sitting_shared`` and on each
  ``multi/`` recording (inside its UEM where it has one) — goal <= 15% on the sitting;
* identification with every enrolled speaker enrolled from its one utterance: share of the
  enrolled speakers' reference speech time whose proposal is the right person (goal >= 90%),
  share of all reference speech proposed wrongly, the guest proposed as anyone included (<= 3%);
* diarization + identification time ÷ audio duration (goal <= 0.05), beside the bare encoder's
  time on the same windows (the baseline measured in this run);
* agreement of the NumPy encoder with the stored torch reference embeddings (max abs diff);
* keystrokes to attribute every turn of the sitting, with proposals and without (a model of
  the editor: see ``keystrokes``).

With ``--calibrate``: the two thresholds from the held-out utterances and ``multi/`` only
(never ``sitting_shared``): the clustering threshold at the equal-error point of same- vs
different-speaker average-linkage similarity between held-out utterances, and the voice
threshold as the lowest similarity at which at most 1% of impostor trials (held-out utterances
against other speakers' enrolment, the guest against everyone) are accepted.

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
from sanarip.speakers import VOICE_THRESHOLD, Profile, identify  # noqa: E402
from transcribe import diarize as dz  # noqa: E402
from transcribe.speaker_jobs import label_embeddings  # noqa: E402
from transcribe.voice import VoiceEncoder, normalize_volume  # noqa: E402

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


def calibrate(enc: VoiceEncoder) -> None:
    held = [m for m in manifest() if m["role"] in ("heldout", "guest")]
    embs, speakers, means = [], [], []
    for m in held:
        audio = load(m["file"])
        regions = dz.speech_regions(audio)
        w = dz.embed_windows(dz.as_audio(audio), dz.windows(regions), enc)
        embs.append(w)
        speakers.append(m["speaker_id"])
        means.append(w.mean(axis=0) / np.linalg.norm(w.mean(axis=0)))
    same, diff = [], []
    for i in range(len(embs)):
        for j in range(i + 1, len(embs)):
            (same if speakers[i] == speakers[j] else diff).append(float((embs[i] @ embs[j].T).mean()))
    grid = np.linspace(0.3, 0.95, 131)
    eer = min(grid, key=lambda t: abs(np.mean(np.array(same) < t) - np.mean(np.array(diff) >= t)))
    print(f"clustering: same-speaker avg-linkage similarity median {np.median(same):.3f}, "
          f"different {np.median(diff):.3f}; equal-error threshold {eer:.3f} "
          f"(miss {np.mean(np.array(same) < eer):.3f}, false merge {np.mean(np.array(diff) >= eer):.3f})")
    profiles = enrolments(enc)
    genuine, impostor = [], []
    for spk, v in zip(speakers, means, strict=True):
        for p in profiles:
            (genuine if p.name == spk else impostor).append(float(p.centroid @ v))
    far_ok = [t for t in grid if np.mean(np.array(impostor) >= t) <= 0.01]
    voice = min(far_ok) if far_ok else 0.95
    print(f"voice: genuine median {np.median(genuine):.3f}, impostor median {np.median(impostor):.3f}, "
          f"max impostor {max(impostor):.3f}; threshold at <=1% false accepts {voice:.3f} "
          f"(genuine accepted {np.mean(np.array(genuine) >= voice):.3f})")
    for name in sorted(p.stem for p in (DATA / "multi").glob("*.rttm")):
        audio = load(f"multi/{name}.wav")
        regions = dz.speech_regions(audio)
        ref = parse_rttm((DATA / "multi" / f"{name}.rttm").read_text())
        scores = []
        for t in (eer - 0.05, eer, eer + 0.05):
            hyp = dz.speech_runs(dz.diarize(audio, float(t), enc, regions), regions)
            scores.append(f"{t:.2f}: {der(ref, hyp, uem=uem_of('multi/' + name))['der']:.3f}")
        print(f"  multi/{name} DER around it: {', '.join(scores)}")


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
    for name in ["sitting_shared"] + [f"multi/{p.stem}" for p in sorted((DATA / "multi").glob("*.rttm"))]:
        audio = load(f"{name}.wav")
        duration = len(audio) / 16000
        t0 = time.perf_counter()
        regions = dz.speech_regions(audio)
        turns = dz.diarize(audio, enc=enc, regions=regions)
        proposals = {lab: (p or {}).get("name") for lab, emb in label_embeddings(turns).items()
                     for p in [identify(emb, profiles)]}
        elapsed = time.perf_counter() - t0
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
                     f"{elapsed / duration:.3f} x real time (goal <= 0.05); the bare encoder on the same "
                     f"windows {bare:.1f} s (ratio {elapsed / max(bare, 1e-9):.2f})")
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
