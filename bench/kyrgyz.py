"""Kyrgyz figures: CTC backend vs bare onnxruntime, text language id per language, stemmer recall/precision.

    python bench/kyrgyz.py [--seconds 120] [--model FOLDER] [--rounds 5]

* CTC: the backend's whole path for a recording (``transcribe_piece``: windows, normalisation,
  inference, greedy decoding, word times, segments) against bare onnxruntime — a fresh
  ``InferenceSession`` with default options, ``run`` on exactly the same windows, already
  prepared — timed in the same run, alternating which goes first, with a pause between (onnxruntime's
  idle threads spin for a while and slow the other session's next run) (ratio; goal ≤ 1.1). Two models
  are built here: the tiny test model (``tests/tinyctc.py``: one strided convolution, where fixed
  costs dominate) and one shaped like a small wav2vec2 (``tests/w2vctc.py``: a 7-layer conv
  encoder and 4 transformer layers, random weights: its compute is real, its words are not);
  ``--model`` adds an operator's folder. A real Kyrgyz model's accuracy is not measured here.
* LID: ``sanarip.langid.identify`` restricted to ky, ru, en (and kk for the Kazakh phrases) on the
  phrase list of ``tests/kyrgyz_lists.py``: accuracy per language.
* Stemmer: on the word-form list, recall = forms whose stem equals their lemma's; precision = of
  the pairs of listed words sharing a stem, those that are forms of one lemma.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sanarip.kyrgyzstem import kyrgyz_stem  # noqa: E402
from sanarip.langid import identify  # noqa: E402
from tests import tinyctc, w2vctc  # noqa: E402
from tests.kyrgyz_lists import DISTINCT, FORMS, PHRASES  # noqa: E402
from transcribe.ctc import load_ctc_uncached, transcribe_piece, windows  # noqa: E402


def _describe(folder: Path) -> str:
    size = (folder / "model.onnx").stat().st_size
    return f"{w2vctc.parameters(folder) / 1e6:.3f} M weights, {size / 1e6:.1f} MB"


def bench_ctc(name: str, model_dir: Path, seconds: float, rounds: int) -> None:
    import onnxruntime as ort

    model = load_ctc_uncached(model_dir)
    bare_session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=model.session.get_providers())
    phrase, _ = tinyctc.speak("бюджеттин долбоору комитетте каралды")
    audio = np.tile(phrase, int(seconds * 16000 / len(phrase)) + 1)[: int(seconds * 16000)]
    audio = audio + np.random.default_rng(0).normal(0, 0.01, len(audio)).astype(np.float32)  # a noise floor
    plan = windows(len(audio), model)
    feeds = [{model.input_name: model.prepare(audio[a:b])[None, :]} for a, b, _, _ in plan]
    for feed in feeds[:2]:  # warm both sessions
        bare_session.run(None, feed)
        model.session.run(None, feed)
    sessions = {"fresh": bare_session, "own": model.session}
    times: dict[str, list[float]] = {"fresh": [], "own": [], "backend": []}
    order = list(times)
    for r in range(rounds):  # rotate which goes first, so none always runs on a warmer cache
        for which in order[r % 3:] + order[:r % 3]:
            time.sleep(0.05)  # the other session's threads stop spinning (they slow a run right after by ~8 ms)
            start = time.perf_counter()
            if which == "backend":
                segments = transcribe_piece(model, audio)
            else:
                for feed in feeds:
                    sessions[which].run(None, feed)
            times[which].append(time.perf_counter() - start)
    logits = model.run(audio[plan[0][0]:plan[0][1]])
    nonblank = float(np.mean(logits.argmax(1) != model.blank))
    computed = sum(b - a for a, b, _, _ in plan) / len(audio)
    b, own, o = min(times["fresh"]), min(times["own"]), min(times["backend"])
    paired = statistics.median(x / y for x, y in zip(times["backend"], times["fresh"], strict=True))
    print(f"ctc {name} ({_describe(model_dir)}): {seconds:.0f} s of audio in {len(plan)} windows of "
          f"{(plan[0][1] - plan[0][0]) / 16000:.1f} s (overlap: {computed:.3f}x the audio computed), "
          f"{sum(len(s.words) for s in segments)} words, {nonblank:.0%} non-blank frames; "
          f"bare onnxruntime {b:.4f} s ({1000 * b / len(plan):.1f} ms a window; {own:.4f} s on the backend's "
          f"session), backend {o:.4f} s; ratio {o / b:.3f} best of {rounds} ({o / own:.3f} against the backend's "
          f"session), {paired:.3f} median of runs (goal ≤ 1.1)")


def bench_lid() -> None:
    for lang, phrases in PHRASES.items():
        allowed = ("ky", "kk", "ru", "en") if lang == "kk" else ("ky", "ru", "en")
        right = sum(identify(p, allowed)[0] == lang for p in phrases)
        print(f"lid {lang}: {right}/{len(phrases)} = {right / len(phrases):.2f} (among {', '.join(allowed)})")


def bench_stemmer() -> None:
    forms = [(lemma, f) for lemma, fs in FORMS.items() for f in [lemma, *fs.split()]]
    recall = sum(kyrgyz_stem(f) == kyrgyz_stem(lemma) for lemma, f in forms if f != lemma)
    total = sum(1 for lemma, f in forms if f != lemma)
    own = {word for pair in DISTINCT for word in pair} - set(FORMS)  # words of their own (not a listed lemma)
    words = forms + [(f"own:{w}", w) for w in sorted(own)]
    same = [(x, y) for x, y in combinations(words, 2) if kyrgyz_stem(x[1]) == kyrgyz_stem(y[1]) and x[1] != y[1]]
    right = sum(x[0] == y[0] for x, y in same)
    print(f"stemmer: recall {recall}/{total} = {recall / total:.3f}; precision {right}/{len(same)} = "
          f"{right / max(1, len(same)):.3f} (pairs of listed words sharing a stem)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each (the tiny model: 20x more)")
    parser.add_argument("--model", type=Path, help="also an operator's CTC model folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_ctc("tiny", tinyctc.build(Path(tmp) / "tiny"), args.seconds, 20 * args.rounds)
        bench_ctc("wav2vec2-like", w2vctc.build(Path(tmp) / "w2v"), args.seconds, args.rounds)
    if args.model:
        bench_ctc(args.model.name, args.model, args.seconds, args.rounds)
    bench_lid()
    bench_stemmer()


if __name__ == "__main__":
    main()
