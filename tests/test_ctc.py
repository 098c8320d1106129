"""The CTC (Kyrgyz) backend: a tiny ONNX model built here, then routing through a real import.

``tests/tinyctc.py`` builds a model whose output is known exactly, so loading, windowing, greedy
decoding and word times are checked to the frame; the import test mixes real Russian speech with
a passage Whisper cannot place (time-reversed speech: low-confidence detection, so it is routed
as Kyrgyz) carrying the tiny model's letters, and checks that each backend wrote its part.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from sanarip.config import ConfigError, load_settings
from sanarip.models import TranscriptSegment
from sanarip.runtime import Runtime
from tests.conftest import run_cli
from tests.tinyctc import FRAME, SAMPLE_RATE, build, speak
from transcribe.ctc import CtcModelError, frame_logits, load_ctc_uncached, transcribe_piece, windows
from transcribe.engine import KYRGYZ, Options, Span, decide_language, transcribe_span

PHRASE = "бюджеттин долбоору комитетте каралды"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("ctc") / "kyrgyz-ctc")


def test_tiny_model_spells_its_audio_with_frame_exact_word_times(tiny):
    model = load_ctc_uncached(tiny)
    assert (model.input_name, model.stride, model.blank) == ("input_values", FRAME, 0)
    audio, times = speak(PHRASE)
    segments = transcribe_piece(model, audio)
    assert [s.text for s in segments] == [PHRASE]
    got = [(w.word, w.start, w.end) for w in segments[0].words]
    assert got == [(" " + word, round(a, 3), round(b, 3)) for word, a, b in times]
    assert all(0.9 < w.probability <= 1.0 for w in segments[0].words)


def test_long_audio_is_decoded_in_overlapping_windows_without_losing_a_frame(tiny):
    model = load_ctc_uncached(tiny)
    model.window, model.context = 50 * FRAME, 5 * FRAME  # 1 s windows, 0.1 s of context each side
    audio, times = speak(" ".join([PHRASE] * 6))
    plan = windows(len(audio), model)
    assert len(plan) > 10 and all(b - a <= model.window for a, b, _, _ in plan)
    assert [k for _, _, k, _ in plan][1:] == [e for _, _, _, e in plan][:-1]  # kept parts tile the audio
    logits = frame_logits(model, audio)
    assert logits.shape[0] == len(audio) // FRAME
    assert np.array_equal(logits.argmax(1), model.run(audio).argmax(1))  # same decisions as one pass
    words = [w for s in transcribe_piece(model, audio) for w in s.words]
    assert [(w.word.strip(), w.start, w.end) for w in words] == [(a, round(b, 3), round(c, 3)) for a, b, c in times]


def test_ctc_span_gets_the_whisper_paths_clamping_and_guards(tiny):
    model = load_ctc_uncached(tiny)
    lead = np.zeros(SAMPLE_RATE * 2, np.float32)
    audio, times = speak(PHRASE)
    loop, _ = speak(" ".join(["ла"] * 12))  # one word looped: the repetition guard drops it
    recording = np.concatenate([lead, audio, np.zeros(SAMPLE_RATE, np.float32), loop])
    options = Options(ctc={KYRGYZ: model})
    segs = transcribe_span(None, recording, Span(2.0, 2.0 + len(audio) / SAMPLE_RATE, KYRGYZ, 0.3), options)
    assert [s.text for s in segs] == [PHRASE] and segs[0].language == KYRGYZ
    assert segs[0].words[0].start == round(2.0 + times[0][1], 3)
    assert all(2.0 <= w.start <= w.end <= 2.0 + len(audio) / SAMPLE_RATE for w in segs[0].words)
    whole = transcribe_span(None, recording, Span(0.0, len(recording) / SAMPLE_RATE, KYRGYZ), options)
    assert [s.text for s in whole] == [PHRASE]


def test_broken_model_folders_fail_in_one_line(tiny, tmp_path, settings_env):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"^SANARIP_LANGUAGE_MODELS: model for 'ky': .* has no model.onnx"):
        load_settings({**settings_env, "SANARIP_LANGUAGE_MODELS": f"ky={empty}"})
    with pytest.raises(ConfigError, match="expected lang=PATH pairs"):
        load_settings({**settings_env, "SANARIP_LANGUAGE_MODELS": str(tiny)})
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"not a model")
    (bad / "vocab.json").write_text(json.dumps({"<pad>": 0, "а": 1}))
    with pytest.raises(CtcModelError, match="cannot load") as err:
        load_ctc_uncached(bad)
    assert "\n" not in str(err.value)
    wrong = tmp_path / "wrong"
    build(wrong)
    (wrong / "vocab.json").write_text(json.dumps({"<pad>": 0, "а": 1}))
    with pytest.raises(CtcModelError, match="does not match vocab.json"):
        load_ctc_uncached(wrong)


class FakeDetector:
    """Only ``detect_language``'s answer matters to the routing rule; the model's ``is_multilingual`` is true."""

    class model:  # noqa: N801 - mirrors faster-whisper's attribute
        is_multilingual = True

    def __init__(self, lang: str, prob: float) -> None:
        self.answer = (lang, prob, [(lang, prob), ("ru", 0.1)])

    def detect_language(self, _piece):
        return self.answer


@pytest.mark.parametrize(("heard", "prob", "kyrgyz", "fallback", "decided"), [
    ("kk", 0.9, True, None, "ky"),    # a Turkic stand-in
    ("ru", 0.3, True, None, "ky"),    # low confidence
    ("ru", 0.9, True, None, "ru"),
    ("kk", 0.9, False, None, "kk"),   # a committee that expects no Kyrgyz keeps the old rule
    ("kk", 0.9, True, "ru", "ru"),    # an operator's fallback language wins
])
def test_routing_rule(heard, prob, kyrgyz, fallback, decided):
    options = Options(kyrgyz=kyrgyz, fallback_language=fallback)
    assert decide_language(FakeDetector(heard, prob), np.zeros(1), options)[0] == decided


# --- end to end: an import of real Russian speech and a passage routed as Kyrgyz ----------------
def _write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


@pytest.fixture(scope="module")
def mixed(testdata, tmp_path_factory) -> tuple[Path, float]:
    """Real Russian speech, a pause, reversed speech (Whisper's detection: about 0.3, so routed as Kyrgyz),
    then the tiny model's phrase; the phrase's start in seconds."""
    from transcribe.engine import decode

    russian = decode(str(testdata / "ru/voxforge_ru_0030.wav"))
    reversed_speech = decode(str(testdata / "ru/voxforge_ru_0022.wav"))[::-1][int(3.1 * SAMPLE_RATE):]
    letters, _ = speak(PHRASE, amplitude=0.2)
    head = np.concatenate([russian, np.zeros(SAMPLE_RATE, np.float32), reversed_speech,
                           np.zeros(SAMPLE_RATE * 3 // 10, np.float32)])
    path = _write_wav(tmp_path_factory.mktemp("mixed") / "mixed.wav", np.concatenate([head, letters]))
    return path, len(head) / SAMPLE_RATE


def _import(env: dict[str, str], path: Path) -> list[TranscriptSegment]:
    run_cli("committee", "add", "budget", "--name", "Budget", env=env)
    sid = int(run_cli("import", str(path), "--committee", "budget", env=env).stdout.split()[0])
    rt = Runtime(load_settings(env))
    try:
        with rt.db.session(readonly=True) as s:
            return list(s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)
                                  .order_by(TranscriptSegment.start)).all())
    finally:
        rt.close()


@pytest.mark.slow
def test_import_routes_russian_to_whisper_and_kyrgyz_to_the_ctc_model(mixed, tiny, settings_env):
    path, phrase_at = mixed
    env = {**settings_env, "SANARIP_MODEL": "base", "SANARIP_LANGUAGE_MODELS": f"ky={tiny}"}
    rows = _import(env, path)
    russian = [r for r in rows if r.language == "ru"]
    kyrgyz = [r for r in rows if r.language == "ky"]
    assert russian and all(r.end < 11.0 for r in russian) and any(len(r.text.split()) > 3 for r in russian)
    assert [r.text for r in kyrgyz] == [PHRASE]
    assert not kyrgyz[0].needs_transcription
    assert abs(kyrgyz[0].words[0]["start"] - phrase_at) < 0.1  # the AAC encoder of the import shifts ~60 ms
    print(f"whisper: {' '.join(r.text for r in russian)!r}; ctc: {kyrgyz[0].text!r}")


@pytest.mark.slow
def test_without_a_kyrgyz_model_the_passage_waits_for_the_clerks(mixed, settings_env):
    path, phrase_at = mixed
    rows = _import({**settings_env, "SANARIP_MODEL": "base"}, path)
    waiting = [r for r in rows if r.needs_transcription]
    assert waiting and all(r.text == "" and r.language == "ky" and r.words == [] for r in waiting)
    assert all(10.5 < r.start < r.end < phrase_at for r in waiting)  # the reversed speech, not the Russian
    assert any(r.language == "ru" and r.text for r in rows)
