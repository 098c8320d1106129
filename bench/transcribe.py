"""Transcription figures, one run, on ../shared/testdata (SANARIP_TESTDATA):

* final pass time / bare ``WhisperModel.transcribe`` time, identical options (file, model,
  threads, fixed language, beam 5, VAD, word timestamps) — goal <= 1.05;
* real-time factor of tiny.en, base and small (where installed) on this machine;
* live latency (end of a phrase → committed live segment) with real-time feeding, median/p95;
* live-draft WER minus final-pass WER.

With ``--final-pass`` instead, the batched final pass (issue figures):

* final pass ÷ bare sequential ``WhisperModel.transcribe`` on a >= 10-minute recording built
  from the shared clips, identical decoding options (goal <= 0.6), and ÷ bare
  ``BatchedInferencePipeline`` with the same batch size (goal <= 1.05), with each one's WER;
* peak RSS of the final pass on a long recording (``--rss-hours``, default 6, with tiny.en);
* a whole ``sanarip import`` (remux, transcribe, diarize, index) of a ``--import-hours`` recording
  as a fraction of its duration (goal <= 0.15).

With ``--detection``: the final pass's language detection (a shorter window first, the full 30 s
window when unsure) against faster-whisper's ``detect_language`` on every speech chunk of the
shared speech — decisions that agree, and the time ratio.

    python bench/transcribe.py
    python bench/transcribe.py --final-pass [--minutes 10] [--rss-hours 6] [--import-hours 1]
    python bench/transcribe.py --detection
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from ingest.media import ffmpeg_exe  # noqa: E402
from sanarip.medialayout import AUDIO_CHUNK_SECONDS  # noqa: E402
from sanarip.pipeline import JobKind  # noqa: E402
from tests.helpers import concat_audio, wer  # noqa: E402
from transcribe.engine import (  # noqa: E402
    MIN_DETECT_SECONDS,
    SAMPLE_RATE,
    Options,
    decode,
    detect_language,
    language_rule,
    speech_chunks,
    transcribe_audio,
)
from transcribe.live import LiveTranscriber  # noqa: E402
from transcribe.models import ModelError, load_model  # noqa: E402

DATA = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata"))
CACHE = Path(tempfile.gettempdir()) / "sanarip-bench-models"
THREADS = 2


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def overhead(name: str, file: Path, lang: str, runs: int = 3) -> None:
    model = load_model(name, CACHE, "cpu", THREADS)
    options = Options(language=lang)
    bare_t, ours_t = [], []
    for _ in range(runs):  # alternate, keep the best of each: the machine is noisy
        bare_t.append(timed(lambda: list(model.transcribe(str(file), **options.whisper_kwargs(lang))[0])))
        ours_t.append(timed(lambda: transcribe_audio(model, decode(str(file)), options)))
    print(f"final pass / bare ({name}, {file.name}, {lang}): {min(ours_t):.2f} s / {min(bare_t):.2f} s "
          f"= {min(ours_t) / min(bare_t):.3f}  (goal <= 1.05)")


def rtf(name: str, file: Path, lang: str) -> None:
    try:
        model = load_model(name, CACHE, "cpu", THREADS)
    except ModelError as exc:
        print(f"RTF {name}: not measured ({exc})")
        return
    audio = decode(str(file))
    seconds = timed(lambda: transcribe_audio(model, audio, Options(language=lang)))
    print(f"RTF {name:<8} {file.name}: {seconds / (len(audio) / SAMPLE_RATE):.3f}")


def live_run(model, audio: np.ndarray, realtime: bool) -> tuple[list[float], str]:
    """Feed ingest's chunks (at real-time pace if asked); returns latencies and the draft text."""
    t0 = time.monotonic()
    latencies, texts = [], []

    def on_segment(seg) -> None:
        texts.append(seg.text)
        if realtime:
            latencies.append(time.monotonic() - t0 - seg.end)

    live = LiveTranscriber(model, Options(language="auto"), on_segment)
    step = int(AUDIO_CHUNK_SECONDS * SAMPLE_RATE)
    for i in range(0, len(audio), step):
        if realtime:
            time.sleep(max(0.0, (i + step) / SAMPLE_RATE - (time.monotonic() - t0)))
        live.feed(i / SAMPLE_RATE, audio[i:i + step])
        live.step()
    live.step(final=True)
    return latencies, " ".join(texts)


def live_figures() -> None:
    model = load_model("base", CACHE, "cpu", THREADS)
    with tempfile.TemporaryDirectory() as tmp:
        mixed = concat_audio([DATA / "en/jfk.flac", DATA / "ru/voxforge_ru_0030.wav",
                              DATA / "en/librispeech_test-clean_61-70968-0000.flac", DATA / "ru/voxforge_ru_0022.wav"],
                             Path(tmp) / "mixed.wav")
        lat = []
        for file in (DATA / "ru/long_voxforge_1-20121125-pgp_7utts.wav", mixed):
            lat += live_run(model, decode(str(file)), realtime=True)[0]
    print(f"live latency (base, 2 cores, real-time feed, {len(lat)} segments): median "
          f"{statistics.median(lat):.1f} s, p95 {float(np.percentile(lat, 95)):.1f} s  (goal p95 <= 6 s)")
    file = DATA / "ru/long_voxforge_1-20121125-pgp_7utts.wav"
    ref = file.with_suffix(".txt").read_text(encoding="utf-8")
    audio = decode(str(file))
    final = " ".join(s.text for s in transcribe_audio(model, audio, Options(language="auto")))
    draft = live_run(model, audio, realtime=False)[1]
    w_final, w_live = wer(ref, final), wer(ref, draft)
    print(f"WER live draft {w_live:.3f} - final pass {w_final:.3f} = {100 * (w_live - w_final):+.1f} points "
          "(goal <= 3)")


def build_recording(files: list[Path], seconds: float, out: Path) -> tuple[Path, str]:
    """Loop ``files`` (1 s of silence between them) to at least ``seconds``; (file, reference text)."""
    parts, refs, total = [], [], 0.0
    while total < seconds:
        for f in files:
            parts.append(f)
            refs.append(f.with_suffix(".txt").read_text(encoding="utf-8"))
            total += len(decode(str(f))) / SAMPLE_RATE + 1.0
            if total >= seconds:
                break
    return concat_audio(parts, out), " ".join(refs)


def final_pass_speed(minutes: float) -> None:
    from faster_whisper import BatchedInferencePipeline

    from transcribe.audio import decoded
    from transcribe.models import batch_size

    model = load_model("base", CACHE, "cpu", THREADS)
    options = Options(language="ru", batch_size=batch_size("auto", "cpu"))
    ru = sorted((DATA / "ru").glob("*.wav"))
    with tempfile.TemporaryDirectory() as tmp:
        file, ref = build_recording(ru, minutes * 60, Path(tmp) / "long.wav")
        duration = len(decode(str(file))) / SAMPLE_RATE
        texts: dict[str, str] = {}

        def product() -> None:
            with decoded(str(file)) as audio:
                texts["product"] = " ".join(s.text for s in transcribe_audio(model, audio, options))

        def bare_sequential() -> None:
            segs, _ = model.transcribe(str(file), **options.whisper_kwargs("ru"))
            texts["sequential"] = " ".join(s.text for s in segs)

        def bare_batched() -> None:
            segs, _ = BatchedInferencePipeline(model).transcribe(str(file), **options.batched_kwargs("ru"))
            texts["batched"] = " ".join(s.text for s in segs)

        t_seq, t_bat, t_ours = timed(bare_sequential), timed(bare_batched), timed(product)
    print(f"final pass on {duration / 60:.1f} min of real Russian speech (base, int8, {THREADS} threads, "
          f"batch {options.batch_size}):")
    print(f"  product {t_ours:.1f} s (RTF {t_ours / duration:.3f}), bare sequential {t_seq:.1f} s, "
          f"bare batched {t_bat:.1f} s")
    print(f"  product / bare sequential = {t_ours / t_seq:.3f}  (goal <= 0.6)")
    print(f"  product / bare batched    = {t_ours / t_bat:.3f}  (goal <= 1.05)")
    print(f"  WER product {wer(ref, texts['product']):.3f}, bare sequential {wer(ref, texts['sequential']):.3f}, "
          f"bare batched {wer(ref, texts['batched']):.3f}")


def _rss_child(file: str) -> None:
    """In a fresh process: the final pass over ``file`` with tiny.en; prints peak RSS (MiB)."""
    from transcribe.audio import decoded
    from transcribe.engine import plan

    model = load_model("tiny.en", CACHE, "cpu", THREADS)
    options = Options(language="en")
    with decoded(file) as audio:
        segments = transcribe_audio(model, audio, options, plan(model, audio, options))
        duration = audio.duration
    print(json.dumps({"rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "segments": len(segments), "duration": duration}))


def final_pass_rss(hours: float) -> None:
    en = [DATA / "en/librivox_shakespeare_sonnet001.wav", DATA / "en/mfa_acoustic_corpus_spontaneous.wav",
          DATA / "en/jfk.flac"]
    with tempfile.TemporaryDirectory() as tmp:
        one, _ = build_recording(en, 600, Path(tmp) / "ten.wav")
        loop = Path(tmp) / "loop.txt"
        loop.write_text("".join(f"file '{one}'\n" for _ in range(int(hours * 6 + 0.999))))
        long = Path(tmp) / "long.wav"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0",
                        "-i", str(loop), "-c", "copy", str(long)], check=True)
        started = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--rss-child", str(long)], capture_output=True, text=True,
                             check=True).stdout
    rss = json.loads(out.strip().splitlines()[-1])
    print(f"final pass peak RSS on {rss['duration'] / 3600:.2f} h (tiny.en, {rss['segments']} lines, "
          f"{time.perf_counter() - started:.0f} s): {rss['rss_mib']:.0f} MiB  (goal <= 2048 MiB with base; "
          f"whole-file decoding would hold {rss['duration'] * SAMPLE_RATE * 4 / 2**20:.0f} MiB of float32)")


def import_fraction(hours: float) -> None:
    sanarip = str(Path(sys.executable).parent / "sanarip")
    ru = sorted((DATA / "ru").glob("*.wav"))
    with tempfile.TemporaryDirectory() as tmp:
        wav, _ = build_recording(ru, hours * 3600, Path(tmp) / "sitting.wav")
        mp4 = Path(tmp) / "sitting.mp4"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                        "color=c=gray:s=320x240:r=10", "-i", str(wav), "-shortest", "-c:v", "libx264", "-preset",
                        "ultrafast", "-g", "10", "-c:a", "aac", str(mp4)], check=True)
        duration = len(decode(str(wav))) / SAMPLE_RATE
        env = {**os.environ, "SANARIP_DATA_DIR": str(Path(tmp) / "data"), "SANARIP_MODEL": "base"}
        subprocess.run([sanarip, "committee", "add", "budget", "--name", "Budget"], env=env, check=True,
                       capture_output=True)
        seconds = timed(lambda: subprocess.run([sanarip, JobKind.IMPORT, str(mp4), "--committee", "budget"], env=env,
                                               check=True, capture_output=True))
    print(f"whole import of {duration / 3600:.2f} h (remux, transcribe with base, diarize, index): "
          f"{seconds:.0f} s = {seconds / duration:.3f} of its duration  (goal <= 0.15)")


def detection() -> None:
    """The final pass's language detection (``detect_language``: a shorter window first) against
    faster-whisper's own ``WhisperModel.detect_language`` (the 30 s window) on every speech chunk
    of the shared speech, Russian also played backwards (where Whisper is unsure): how many
    decisions agree, and the time of each, alternating which goes first."""
    model = load_model("base", CACHE, "cpu", THREADS)
    options = Options(language="auto", kyrgyz=True)
    every = sorted(DATA.glob("en/*.*")) + sorted(DATA.glob("ru/*.wav")) + sorted(DATA.glob("speakers/*/*.*"))
    files = [f for f in every if f.suffix in (".wav", ".flac")]
    pieces = []
    for f in files:
        audio = decode(str(f))
        for samples in (audio, audio[::-1].copy()) if f.parent.name == "ru" else (audio,):
            pieces += [samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in speech_chunks(samples)
                       if b - a >= MIN_DETECT_SECONDS]
    model.detect_language(pieces[0])  # warm
    agree, spent = 0, {"full": 0.0, "product": 0.0}
    for i, piece in enumerate(pieces):
        answers = {}
        for which in ("full", "product") if i % 2 else ("product", "full"):
            t0 = time.perf_counter()
            answers[which] = model.detect_language(piece) if which == "full" else detect_language(model, piece)
            spent[which] += time.perf_counter() - t0
        agree += language_rule(*answers["full"], options)[::2] == language_rule(*answers["product"], options)[::2]
    print(f"language detection on {len(pieces)} speech chunks ({len(files)} files): "
          f"decisions agree {agree}/{len(pieces)}; "
          f"product {spent['product']:.1f} s vs faster-whisper's 30 s window {spent['full']:.1f} s = "
          f"{spent['product'] / spent['full']:.2f}")


def main() -> None:
    if not (DATA / "README.md").exists():
        sys.exit(f"test data not found at {DATA}")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--final-pass", action="store_true")
    parser.add_argument("--detection", action="store_true", help="only the language-detection figure")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rss-hours", type=float, default=6.0)
    parser.add_argument("--import-hours", type=float, default=1.0)
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        _rss_child(args.rss_child)
        return
    if args.detection:
        detection()
        return
    if args.final_pass:
        if args.minutes > 0:
            final_pass_speed(args.minutes)
        if args.rss_hours > 0:
            final_pass_rss(args.rss_hours)
        if args.import_hours > 0:
            import_fraction(args.import_hours)
        return
    overhead("base", DATA / "ru/long_voxforge_1-20121125-pgp_7utts.wav", "ru")
    overhead("tiny.en", DATA / "en/librivox_shakespeare_sonnet001.wav", "en")
    for name, file, lang in (("tiny.en", "en/librivox_shakespeare_sonnet001.wav", "en"),
                             ("base", "ru/long_voxforge_1-20121125-pgp_7utts.wav", "ru"),
                             ("small", "ru/long_voxforge_1-20121125-pgp_7utts.wav", "ru")):
        rtf(name, DATA / file, lang)
    live_figures()


if __name__ == "__main__":
    main()
