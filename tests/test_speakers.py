"""Diarization, voice profiles and the diarize stage on real speech (no ASR model: segments are
written directly), plus RTTM and DER."""

import json
import wave

import numpy as np
import pytest
from sqlalchemy import select

from sanarip.catalog import add_person
from sanarip.config import load_settings
from sanarip.models import Sitting, TranscriptSegment, VoiceProfile
from sanarip.pipeline import DiarizePayload
from sanarip.rttm import der, parse_rttm, to_rttm
from sanarip.runtime import Runtime
from sanarip.stenogram import Segment, Stenogram, Word, export
from sanarip.transcripts import public_stenogram, replace_automatic
from tests.conftest import run_cli
from transcribe import diarize as dz

SR = 16000
CHAIR = "ru_vf_pgp/ru_0022.wav"  # held-out utterances of two enrolled speakers
CHAIR_2 = "ru_vf_pgp/ru_0025.wav"
OTHER = "en_ls_1688/1688-142285-0000.flac"


def _load(testdata, rel):
    from faster_whisper import decode_audio

    return decode_audio(str(testdata / "speakers" / rel), sampling_rate=SR)


def _write_wav(path, samples):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _join(*pieces, pause=1.0):
    gap = np.zeros(int(pause * SR), np.float32)
    out = [gap]
    for p in pieces:
        out += [p, gap]
    return np.concatenate(out)


@pytest.fixture(scope="module")
def two_speakers(testdata):
    """The chair, then another speaker, then the chair again: (samples, change times at the middle
    of the pauses, (end of the chair's speech, start of the other's))."""
    a, b, c = _load(testdata, CHAIR), _load(testdata, OTHER), _load(testdata, CHAIR_2)
    audio = _join(a, b, c)
    first = 1.0 + len(a) / SR + 0.5
    second = first + 0.5 + len(b) / SR + 0.5
    speech_end = 1.0 + dz.speech_regions(a)[-1][1]
    speech_start = first + 0.5 + dz.speech_regions(b)[0][0]
    return audio, (first, second), (speech_end, speech_start)


def test_one_speaker_gets_one_label(testdata):
    audio = _join(_load(testdata, CHAIR), _load(testdata, CHAIR_2), _load(testdata, "ru_vf_pgp/ru_0027.wav"))
    turns = dz.diarize(audio)
    assert {t.label for t in turns} == {"S1"}
    assert len(turns) == 1


def test_speaker_changes_are_found(two_speakers):
    audio, (first, second), _speech = two_speakers
    turns = dz.diarize(audio)
    assert [t.label for t in turns] == ["S1", "S2", "S1"]
    # Each change falls in the pause between the two speakers (turns end where speech ends).
    assert turns[0].end <= first + 0.25 <= turns[1].start + 0.5
    assert turns[1].end <= second + 0.25 <= turns[2].start + 0.5


def test_a_segment_across_a_change_is_split_at_the_nearest_word():
    turns = [dz.Turn(0.0, 4.0, "S1"), dz.Turn(4.0, 9.0, "S2")]
    words = [Word(" one", 2.0, 2.5), Word(" two", 2.6, 3.1), Word(" three", 3.2, 3.7), Word(" four", 4.2, 4.6),
             Word(" five", 4.7, 5.0)]
    out = dz.assign([Segment(2.0, 5.0, "one two three four five", words=words)], turns)
    assert [(s.text, s.speaker_label) for s in out] == [("one two three", "S1"), ("four five", "S2")]
    assert out[0].start == 2.0 and out[1].end == 5.0 and out[1].start == 4.2


def test_rttm_and_der():
    ref = [(0.0, 5.0, "alice"), (5.5, 9.0, "bob")]
    text = to_rttm("my file", [(0.0, 5.0, "S2"), (5.5, 9.0, "S1")])
    assert text.splitlines()[0] == "SPEAKER my_file 1 0.000 5.000 <NA> <NA> S2 <NA> <NA>"
    assert der(ref, parse_rttm(text))["der"] == 0.0  # labels are mapped one to one
    half = der(ref, [(0.0, 9.0, "S1")])
    assert 0.35 < half["der"] < 0.5 and half["confusion"] > 0


def test_stenogram_rttm_names_confirmed_persons_else_the_cluster():
    st = Stenogram([Segment(0, 2, "a", speaker_id=7, speaker_label="S1"), Segment(2.5, 4, "b", speaker_label="S2")],
                   sitting_id=12)
    assert export(st, "rttm").splitlines() == [
        "SPEAKER 12 1 0.000 2.000 <NA> <NA> person-7 <NA> <NA>",
        "SPEAKER 12 1 2.500 1.500 <NA> <NA> S2 <NA> <NA>"]


def test_enrolment_refuses_bad_input_and_stores_nothing(settings_env, testdata, tmp_path):
    run_cli("init", env=settings_env)
    pid = run_cli("person", "add", "Иванов Петр", env=settings_env).stdout.strip()
    silence = _write_wav(tmp_path / "silence.wav", np.zeros(5 * SR, np.float32))
    short = _write_wav(tmp_path / "short.wav", _join(_load(testdata, CHAIR)[:int(1.5 * SR)]))
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    good = testdata / "speakers" / CHAIR
    for bad, message in ((silence, "no speech"), (short, "only 1."), (text, "not readable media")):
        proc = run_cli("person", "enroll", pid, str(good), str(bad), env=settings_env, check=False)
        assert proc.returncode != 0
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    rt = Runtime(load_settings(settings_env))
    with rt.db.session(readonly=True) as s:
        assert s.scalars(select(VoiceProfile)).all() == []
    out = run_cli("person", "enroll", pid, str(good), env=settings_env).stdout
    assert "1 voice sample(s)" in out
    with rt.db.session(readonly=True) as s:
        (row,) = s.scalars(select(VoiceProfile)).all()
        assert len(row.embedding) == 256 and row.source == "enroll"
        assert set(row.__table__.columns.keys()) == {"id", "person_id", "embedding", "source", "seconds",
                                                     "segment_id", "created_at"}  # no audio, only numbers
    assert "1 voice sample(s) deleted" in run_cli("person", "forget-voice", pid, env=settings_env).stdout
    with rt.db.session(readonly=True) as s:
        assert s.scalars(select(VoiceProfile)).all() == []
    rt.close()


def test_the_diarize_stage_labels_splits_and_proposes(settings_env, testdata, tmp_path, two_speakers):
    audio, (first, second), (a_end, b_start) = two_speakers
    media = _write_wav(tmp_path / "sitting.wav", audio)
    run_cli("init", env=settings_env)
    run_cli("committee", "add", "budget", "--name", "Budget", env=settings_env)
    out = run_cli("import", str(media), "--committee", "budget", "--background", env=settings_env).stdout
    sid = int(out.split()[0])
    run_cli("worker", "--kinds", "import", "--until-idle", env=settings_env, timeout=300)
    rt = Runtime(load_settings(settings_env))
    enroll = json.loads((testdata / "speakers" / "enroll.json").read_text())["enroll"]
    with rt.db.session() as s:
        chair = add_person(s, "Токтогулова Айгуль").id
        other = add_person(s, "Осмонов Бакыт").id
    run_cli("person", "enroll", str(chair), str(testdata / "speakers" / enroll["ru_vf_pgp"]), env=settings_env)
    # One segment runs across the first change: its words say where to cut.
    w = [Word(" Слово", a_end - 1.6, a_end - 1.2), Word(" предоставляется", a_end - 1.1, a_end - 0.5),
         Word(" Осмонову.", a_end - 0.4, a_end), Word(" Thank", b_start, b_start + 0.3),
         Word(" you.", b_start + 0.4, b_start + 0.7)]
    segs = [Segment(1.0, a_end - 1.8, "Начнем заседание."),
            Segment(a_end - 1.6, b_start + 0.7, "Слово предоставляется Осмонову. Thank you.", words=w),
            Segment(b_start + 0.8, second - 1.0, "I have a question."),
            Segment(second + 0.2, second + 3.0, "Спасибо.")]
    with rt.db.session() as s:
        replace_automatic(s, sid, segs)
    rt.queue.submit(DiarizePayload(sid))
    rt.close()
    run_cli("worker", "--kinds", "diarize", "--until-idle", env=settings_env, timeout=600)
    rt = Runtime(load_settings(settings_env))

    def rows():
        with rt.db.session(readonly=True) as s:
            return [(r.text, r.speaker_label, (r.speaker_proposal or {}).get("person_id"),
                     (r.speaker_proposal or {}).get("source"), r.speaker_id)
                    for r in s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sid)
                                       .order_by(TranscriptSegment.start))]

    got = rows()
    assert [g[:2] for g in got] == [("Начнем заседание.", "S1"), ("Слово предоставляется Осмонову.", "S1"),
                                    ("Thank you.", "S2"), ("I have a question.", "S2"), ("Спасибо.", "S1")]
    assert got[0][2:4] == (chair, "voice") and got[4][2:4] == (chair, "voice")
    assert got[2][2:4] == (other, "chair") and got[3][2:4] == (other, "chair")
    assert all(g[4] is None for g in got)  # never confirmed automatically
    with rt.db.session(readonly=True) as s:
        rttm = export(public_stenogram(s, s.get(Sitting, sid)), "rttm").splitlines()
    assert rttm[2].split()[7] == "S2" and rttm[0].split()[1] == str(sid)
    # Idempotent: a second run gives the same rows.
    rt.queue.submit(DiarizePayload(sid))
    rt.close()
    run_cli("worker", "--kinds", "diarize", "--until-idle", env=settings_env, timeout=600)
    rt = Runtime(load_settings(settings_env))
    assert rows() == got
    rt.close()
