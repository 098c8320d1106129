"""Kyrgyz figures: CTC backend vs bare onnxruntime, text language id per language, stemmer recall/precision.

    python bench/kyrgyz.py [--seconds 120] [--model FOLDER]

* CTC: the backend's ``frame_logits`` + greedy decoding over a recording, against bare
  ``InferenceSession.run`` on exactly the same windows, timed in the same run (ratio; goal ≤ 1.1).
  Without ``--model`` the tiny test model (``tests/tinyctc.py``) is used: it measures the backend's
  own overhead, not a real model's speed; a real Kyrgyz model's accuracy is not measured here.
* LID: ``sanarip.langid.identify`` restricted to ky, ru, en (and kk for the Kazakh phrases) on the
  phrase list of ``tests/kyrgyz_lists.py``: accuracy per language.
* Stemmer: on the word-form list, recall = forms whose stem equals their lemma's; precision = of
  the pairs of listed words sharing a stem, those that are forms of one lemma.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sanarip.kyrgyzstem import kyrgyz_stem  # noqa: E402
from sanarip.langid import identify  # noqa: E402
from tests.kyrgyz_lists import DISTINCT, FORMS, PHRASES  # noqa: E402
from tests.tinyctc import build, speak  # noqa: E402
from transcribe.ctc import frame_logits, greedy_words, load_ctc_uncached, windows  # noqa: E402


def bench_ctc(model_dir: Path, seconds: float, rounds: int = 7) -> None:
    model = load_ctc_uncached(model_dir)
    phrase, _ = speak("бюджеттин долбоору комитетте каралды")
    audio = np.tile(phrase, int(seconds * 16000 / len(phrase)) + 1)[: int(seconds * 16000)]
    plan = windows(len(audio), model)
    feeds = [{model.input_name: audio[a:b][None, :].astype(np.float32)} for a, b, _, _ in plan]
    backend, bare, decoding = [], [], []
    for r in range(rounds):  # alternate which goes first, so neither always runs on a warmer cache
        for which in ((0, 1) if r % 2 else (1, 0)):
            start = time.perf_counter()
            if which == 0:
                for feed in feeds:
                    model.session.run(None, feed)
                bare.append(time.perf_counter() - start)
            else:
                logits = frame_logits(model, audio)
                mid = time.perf_counter()
                words = greedy_words(model, logits)
                backend.append(time.perf_counter() - start)
                decoding.append(time.perf_counter() - mid)
    b, o = min(bare), min(backend)
    print(f"ctc: {seconds:.0f} s of audio, {len(plan)} windows, {len(words)} words; bare onnxruntime {b:.3f} s, "
          f"backend {o:.3f} s (decoding {min(decoding):.3f} s), ratio {o / b:.3f} (goal ≤ 1.1; best of {rounds})")


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
    parser.add_argument("--model", type=Path, help="a CTC model folder (default: the tiny test model)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_ctc(args.model or build(Path(tmp) / "tiny"), args.seconds)
    bench_lid()
    bench_stemmer()


if __name__ == "__main__":
    main()
