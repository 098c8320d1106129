"""The transcribe and live jobs on real speech: resuming after a kill, clerk edits kept, live WER."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from sanarip.catalog import add_committee
from sanarip.config import load_settings
from sanarip.models import Job, Sitting, TranscriptSegment
from sanarip.runtime import Runtime
from sanarip.stenogram import Segment
from sanarip.transcripts import replace_automatic
from tests.conftest import run_cli
from tests.helpers import bare_wer, wer
from tests.livefeed import put_chunks
from transcribe.engine import decode
from transcribe.models import load_model

pytestmark = pytest.mark.slow
LONG_RU = "ru/long_voxforge_1-20121125-pgp_7utts.wav"


@pytest.fixture
def env(settings_env):
    settings_env.update(SANARIP_MODEL="base", SANARIP_TRANSCRIBE_SPAN_SECONDS="20", SANARIP_JOB_LEASE="3")
    run_cli("committee", "add", "budget", "--name", "Budget", env=settings_env)
    return settings_env


def texts(rt, sitting_id, source=None):
    with rt.db.session(readonly=True) as s:
        q = select(TranscriptSegment).where(TranscriptSegment.sitting_id == sitting_id)
        if source:
            q = q.where(TranscriptSegment.source == source)
        return [r.text for r in s.scalars(q.order_by(TranscriptSegment.start))]


def test_killed_transcription_resumes_from_its_last_span(env, testdata, tmp_path):
    out = run_cli("import", str(testdata / LONG_RU), "--committee", "budget", "--background", env=env).stdout
    sid = int(out.split()[0])
    rt = Runtime(load_settings(env))
    exe = str(Path(sys.executable).parent / "sanarip")
    subprocess.run([exe, "worker", "--kinds", "import", "--until-idle"], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    first = subprocess.Popen([exe, "worker", "--kinds", "transcribe"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        done = 0
        while done < 1 and time.monotonic() < deadline:
            with rt.db.session(readonly=True) as s:
                job = s.scalar(select(Job).where(Job.kind == "transcribe"))
                done = (job.progress or {}).get("done", 0) if job else 0
            time.sleep(0.2)
        assert done >= 1
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    time.sleep(3.5)  # the dead worker's lease expires
    second = subprocess.run([exe, "worker", "--kinds", "transcribe,diarize,index", "--until-idle"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert f"resuming after {done}" in second.stderr or f"resuming after {done + 1}" in second.stderr
    with rt.db.session(readonly=True) as s:
        assert s.get(Sitting, sid).status == "transcribed"
        job = s.scalar(select(Job).where(Job.kind == "transcribe"))
        assert job.status == "done" and job.attempts == 2 and len(job.progress["spans"]) >= 3
    reference = (testdata / LONG_RU).with_suffix(".txt").read_text(encoding="utf-8")
    # Spans cut in silence lose nothing: within 0.05 of bare faster-whisper on the whole file (same run).
    baseline = bare_wer(load_model("base", rt.settings.data_dir / "models", "cpu", threads=2), testdata / LONG_RU, "ru")
    assert wer(reference, " ".join(texts(rt, sid))) <= baseline + 0.05
    assert not rt.storage.list(f"work/sittings/{sid}/final-pass/")  # staging cleaned up
    rt.close()


def test_final_pass_deletes_the_working_files(sqlite_runtime, testdata):
    """The live draft's audio chunks (private, about 115 MB per sitting-hour) go once the sitting is transcribed."""
    import worker
    from ingest.importer import register
    from sanarip.medialayout import audio_chunks_prefix, vod_playlist_key

    rt = sqlite_runtime
    with rt.db.session() as s:
        add_committee(s, "budget", "Budget")
    sid, _ = register(rt, testdata / "en/jfk.flac", "budget", None, None)
    other, _ = register(rt, testdata / "ru/voxforge_ru_0022.wav", "budget", None, None)
    worker.run_inline(rt, "import", {"sitting": sid})
    audio = decode(str(testdata / "en/jfk.flac"))
    assert put_chunks(rt.storage, sid, audio) >= 5 and put_chunks(rt.storage, other, audio[:32000]) == 1
    assert len(rt.storage.list(audio_chunks_prefix(sid))) >= 5
    following = worker.run_inline(rt, "transcribe", {"sitting": sid, "model": "tiny.en"})
    while following:  # the rest of the final pass (diarize, index)
        job = following.pop(0)
        following += worker.run_inline(rt, job.kind, job.to_dict())
    with rt.db.session(readonly=True) as s:
        assert s.get(Sitting, sid).status == "transcribed"
    assert texts(rt, sid, "final")
    assert rt.storage.list(f"work/sittings/{sid}/") == []  # chunks and final-pass checkpoints gone
    assert len(rt.storage.list(audio_chunks_prefix(other))) == 1  # another sitting's chunks stay
    assert rt.storage.exists(vod_playlist_key(sid))  # the public media stays


def test_rerun_keeps_clerk_edits(sqlite_runtime):
    rt = sqlite_runtime
    with rt.db.session() as s:
        c = add_committee(s, "budget", "Budget")
        st = Sitting(committee_id=c.id, status="transcribed")
        s.add(st)
        s.flush()
        s.add(TranscriptSegment(sitting_id=st.id, start=5.0, end=9.0, text="Исправлено клерком.", source="clerk"))
        s.add(TranscriptSegment(sitting_id=st.id, start=0.0, end=4.0, text="старый текст", source="final"))
        sid = st.id
    fresh = [Segment(0.0, 4.5, "новый текст"), Segment(4.5, 9.5, "перекрывает правку"), Segment(10, 12, "дальше")]
    with rt.db.session() as s:
        assert replace_automatic(s, sid, fresh) == 2
    assert texts(rt, sid) == ["новый текст", "Исправлено клерком.", "дальше"]


def test_live_draft_close_to_the_final_pass(sqlite_runtime, testdata):
    import worker

    rt = sqlite_runtime
    with rt.db.session() as s:
        c = add_committee(s, "budget", "Budget")
        st = Sitting(committee_id=c.id, status="live")
        s.add(st)
        s.flush()
        sid = st.id
    audio = decode(str(testdata / LONG_RU))
    put_chunks(rt.storage, sid, audio)
    with rt.db.session() as s:
        s.get(Sitting, sid).status = "recorded"
    worker.run_inline(rt, "live", {"sitting": sid, "drain": True, "model": "base"})
    draft = texts(rt, sid, "live")
    assert len(draft) >= 5
    with rt.db.session(readonly=True) as s:
        rows = list(s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)))
        assert all(r.words and r.words[0]["start"] >= r.start - 0.01 for r in rows)
        assert [r.start for r in sorted(rows, key=lambda r: r.id)] == sorted(r.start for r in rows)
    reference = (testdata / LONG_RU).with_suffix(".txt").read_text(encoding="utf-8")
    from transcribe.engine import Options, transcribe_audio
    from transcribe.models import load_model

    final = transcribe_audio(load_model("base", rt.settings.data_dir / "models", "cpu", 2), audio,
                             Options(language="auto"))
    assert wer(reference, " ".join(draft)) <= wer(reference, " ".join(s.text for s in final)) + 0.05
    # Both passes cut lines at sentences and pauses, bounded in length (no one-word lines).
    with rt.db.session(readonly=True) as s:
        live_rows = list(s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)
                                   .order_by(TranscriptSegment.start)))
    assert_sentence_lines([(len(r.words), r.start, r.end, r.text) for r in live_rows])
    assert_sentence_lines([(len(seg.words), seg.start, seg.end, seg.text) for seg in final])


def assert_sentence_lines(lines: list[tuple[int, float, float, str]]) -> None:
    from transcribe.sentences import MAX_SECONDS, MIN_WORDS

    assert lines
    for n, (words, start, end, text) in enumerate(lines):
        assert end - start <= MAX_SECONDS + 0.5, text
        assert words >= MIN_WORDS or n == len(lines) - 1, [t for *_, t in lines]


def test_live_partial_words_come_before_their_line(sqlite_runtime, testdata):
    """Words are shown as heard (on_partial) before the sentence ends and its line is committed."""
    from transcribe.engine import SAMPLE_RATE, Options
    from transcribe.live import LiveTranscriber
    from transcribe.models import load_model

    events: list[tuple[int, str, object]] = []
    model = load_model("tiny.en", sqlite_runtime.settings.data_dir / "models", "cpu", 2)
    live = LiveTranscriber(model, Options(language="en"),
                           on_segment=lambda seg: events.append((chunk, "segment", seg)),
                           on_partial=lambda p: events.append((chunk, "partial", p)))
    audio = decode(str(testdata / "en/jfk.flac"))
    step = 2 * SAMPLE_RATE
    for chunk in range(0, -(-len(audio) // step)):
        live.feed(chunk * 2.0, audio[chunk * step:(chunk + 1) * step])
        live.step()
    chunk += 1
    live.step(final=True)
    partials = [(c, p) for c, kind, p in events if kind == "partial"]
    segments = [(c, seg) for c, kind, seg in events if kind == "segment"]
    assert segments and partials[0][0] <= 1  # words on screen after the first 4 s of audio
    assert partials[0][0] < segments[0][0]
    assert "fellow" in partials[0][1]["text"].lower() or "americans" in partials[1][1]["text"].lower()
    assert partials[-1][1] is None  # nothing left over once the draft ends
    for c, p in partials[:-1]:  # a partial line never repeats words already in a committed line
        assert p is None or all(p["start"] >= seg.end - 0.05 for c2, seg in segments if c2 < c)


def test_live_draft_catches_up_a_backlog_in_one_pass(sqlite_runtime, testdata):
    """A draft that starts behind (the model loaded, or the CPU was busy, while 40 s of chunks
    arrived) commits all but the newest MAX_BUFFER / 2 seconds in one pass: committing the
    oldest 7.5 s a pass, each over the whole backlog, kept every line a minute late."""
    from transcribe.engine import SAMPLE_RATE, Options
    from transcribe.live import MAX_BUFFER, LiveTranscriber

    segments: list[Segment] = []
    model = load_model("tiny.en", sqlite_runtime.settings.data_dir / "models", "cpu", 2)
    live = LiveTranscriber(model, Options(language="en"), on_segment=segments.append)
    audio = decode(str(testdata / "en/librivox_shakespeare_sonnet001.wav"))[: 40 * SAMPLE_RATE]
    step = 2 * SAMPLE_RATE
    for chunk in range(20):
        live.feed(chunk * 2.0, audio[chunk * step:(chunk + 1) * step])
    live.step()
    assert live.state.previous, "the backlog should end mid-speech (a tail still tentative)"
    assert live.state.committed_until >= 40 - MAX_BUFFER / 2 - 2.0
    assert live.buffered <= MAX_BUFFER / 2 + 2.0
    assert segments and segments[-1].end >= 40 - MAX_BUFFER / 2 - 2.0
    assert [s.start for s in segments] == sorted(s.start for s in segments)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_live_passes_hear_shorter_windows_as_well_as_whisper_s_own(sqlite_runtime, testdata, language):
    """The live view of the model encodes 20 s windows (the 30 s one was most of a pass's time);
    on every shared file of a language, cut in the live buffer's 12 s pieces, its words are as
    right as bare faster-whisper's on the same pieces, measured in this run."""
    from transcribe.live import LIVE_WINDOW_FRAMES, shorter_window

    model = load_model("base", sqlite_runtime.settings.data_dir / "models", "cpu", 2)
    view = shorter_window(model)
    frames: list[int] = []

    class Encoder:  # CTranslate2's model, noting the window each encoder call hears
        def __getattr__(self, name):
            return getattr(model.model, name)

        def encode(self, features, **kwargs):
            frames.append(features.shape[-1])
            return model.model.encode(features, **kwargs)

    view.model = Encoder()
    options = dict(language=language, beam_size=1, word_timestamps=True, vad_filter=True,
                   condition_on_previous_text=False, temperature=0.0)
    references, bare, live = [], [], []
    for path in sorted((testdata / language).iterdir()):
        if path.suffix == ".txt":
            continue
        audio = decode(str(path))
        pieces = [audio[i:i + 12 * 16000] for i in range(0, len(audio), 12 * 16000)]
        references.append(path.with_suffix(".txt").read_text(encoding="utf-8"))
        bare.append(" ".join(s.text for p in pieces for s in model.transcribe(p, **options)[0]))
        live.append(" ".join(s.text for p in pieces for s in view.transcribe(p, **options)[0]))
    assert frames and set(frames) == {LIVE_WINDOW_FRAMES}  # every pass's encoder heard 20 s
    bare_error = wer(" ".join(references), " ".join(bare))
    live_error = wer(" ".join(references), " ".join(live))
    assert live_error <= bare_error + 0.03, (live_error, bare_error)


def test_live_draft_keeps_media_times_across_connections(sqlite_runtime, testdata):
    """Chunks are placed by their offsets: a new connection's audio replaces what an old one
    stored past the media it listed, a short hole becomes silence, and after a long one the
    buffer's words are committed and it begins anew at the new offset."""
    import numpy as np

    from transcribe.engine import SAMPLE_RATE, Options
    from transcribe.live import MAX_BUFFER, LiveTranscriber

    segments: list[Segment] = []
    model = load_model("tiny.en", sqlite_runtime.settings.data_dir / "models", "cpu", 2)
    live = LiveTranscriber(model, Options(language="en"), on_segment=segments.append)
    audio = decode(str(testdata / "en/librivox_shakespeare_sonnet001.wav"))
    second = SAMPLE_RATE
    for t in range(7):  # a connection's 7 s of audio, of which the media listed only 6 s
        live.feed(float(t), audio[t * second:(t + 1) * second])
    live.feed(6.0, audio[20 * second:24 * second])  # the next connection starts at media time 6
    assert live.buffered == 10.0
    assert np.array_equal(live.state.buffer[6 * second:], audio[20 * second:24 * second])
    live.feed(10.5, audio[24 * second:25 * second])  # half a second the source never sent
    assert live.buffered == 11.5
    assert not live.state.buffer[10 * second:int(10.5 * second)].any()
    far = 11.5 + MAX_BUFFER + 5
    live.feed(far, audio[25 * second:26 * second])
    assert segments and segments[-1].end <= 11.5 and live.state.committed_until <= 11.5
    assert live.state.buffer_start == far and live.buffered == 1.0


def _draft(live, audio, chunk: float = 1.0) -> list[float]:
    """Feed ``audio`` to ``live`` in ``chunk`` s pieces, a pass after each; the buffer each pass heard."""
    step = int(chunk * 16000)
    heard = []
    for k in range(-(-len(audio) // step)):
        live.feed(k * chunk, audio[k * step:(k + 1) * step])
        heard.append(live.buffered)
        live.step()
    live.step(final=True)
    return heard


def test_live_passes_drop_committed_phrases_while_a_line_is_open(sqlite_runtime, testdata, monkeypatch):
    """A reader who never pauses long enough to end a line (the sonnet): the audio of committed
    Whisper segments leaves the buffer while the line is still open, so no pass hears
    ``MAX_BUFFER`` seconds (kept until the line ended, those passes were the slowest partials), and
    the words are as right as keeping it all, measured in this run."""
    import transcribe.live as live_module
    from transcribe.engine import Options
    from transcribe.live import MAX_BUFFER, LiveTranscriber

    model = load_model("base", sqlite_runtime.settings.data_dir / "models", "cpu", 2)
    audio = decode(str(testdata / "en/librivox_shakespeare_sonnet001.wav"))
    reference = (testdata / "en/librivox_shakespeare_sonnet001.txt").read_text(encoding="utf-8")
    trimmed_mid_line = []

    def draft() -> tuple[list[float], str]:
        lines: list[Segment] = []
        live = LiveTranscriber(model, Options(language="en"), on_segment=lines.append)
        trim = live._trim_heard

        def noting() -> None:
            before = live.state.buffer_start
            trim()
            if live.state.pending and live.state.buffer_start > before:
                trimmed_mid_line.append(live._context())
        live._trim_heard = noting
        heard = _draft(live, audio, chunk=2.0)
        return heard, " ".join(seg.text for seg in lines)

    heard, text = draft()
    assert max(heard) < MAX_BUFFER, heard
    assert trimmed_mid_line and all(trimmed_mid_line)  # cut inside open lines, whose dropped words are the prompt
    monkeypatch.setattr(live_module, "TRIM_ABOVE", float("inf"))
    kept_heard, kept_text = draft()
    assert max(kept_heard) >= MAX_BUFFER  # the same speech kept all its audio before
    assert wer(reference, text) <= wer(reference, kept_text) + 0.03


def test_live_passes_read_the_language_from_their_own_encoder_output(sqlite_runtime, testdata, monkeypatch):
    """With ``language="auto"``, only the first buffer and unsure answers have a detection pass of
    their own; later decisions come from each pass's encoder output (a detection pass cost
    0.2–0.6 s, just as a new line's first words waited to be shown), and a switch of language is
    still heard: English then Russian speech come out in their own scripts."""
    import numpy as np

    import transcribe.live as live_module
    from transcribe.engine import QUICK_CONFIDENCE, Options
    from transcribe.live import LiveTranscriber

    detections = []
    detect = live_module.decide_language
    monkeypatch.setattr(live_module, "decide_language", lambda *a: detections.append(1) or detect(*a))
    heard = []  # each pass's own ranking
    from_pass = live_module.heard_language
    monkeypatch.setattr(live_module, "heard_language", lambda view: heard.append(from_pass(view)) or heard[-1])
    model = load_model("base", sqlite_runtime.settings.data_dir / "models", "cpu", 2)
    english = decode(str(testdata / "en/jfk.flac"))
    russian = decode(str(testdata / "ru/voxforge_ru_0022.wav"))
    pause = np.zeros(2 * 16000, dtype=np.float32)
    lines: list[Segment] = []
    live = LiveTranscriber(model, Options(language="auto"), on_segment=lines.append, languages=("ru", "en"))
    _draft(live, np.concatenate([english, pause, russian, pause]))
    split = len(english) / 16000 + 1.0
    first = " ".join(s.text for s in lines if s.end <= split)
    second = " ".join(s.text for s in lines if s.start >= split)
    heard = [r for r in heard if r]
    unsure = sum(r[0][1] < QUICK_CONFIDENCE for r in heard)  # heard again, as the final pass does
    assert len(heard) >= 3 and len(detections) == 1 + unsure < len(heard)
    assert "country" in first.lower() and not any("а" <= ch <= "я" for ch in first.lower())
    assert second and sum("а" <= ch <= "я" for ch in second.lower()) > 0.8 * sum(ch.isalpha() for ch in second)
