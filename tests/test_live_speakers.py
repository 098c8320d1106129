"""Live speaker proposals with real speech (the shared speakers' recordings), the real live job
(faster-whisper tiny.en) and the real GE2E encoder: a speaker enrolled from their enrolment
utterance is proposed, marked automatic, beside the live lines of their held-out speech in the
live-state file; nobody else is."""

import json

import numpy as np
import pytest

from sanarip import livestate
from sanarip.catalog import add_committee
from sanarip.models import Person, Sitting, TranscriptSegment
from sanarip.sittings import SittingStatus
from sanarip.speakers import add_profile
from tests.livefeed import put_chunks
from transcribe.audio import decoded
from transcribe.diarize import embed_speech
from transcribe.engine import decode

pytestmark = pytest.mark.slow
SPEAKER, OTHER = "en_ls_1688", "en_ls_533"


def enrol(rt, speakers_dir, speaker: str, name: str) -> int:
    enrolment = json.loads((speakers_dir / "enroll.json").read_text())["enroll"][speaker]
    with decoded(str(speakers_dir / enrolment)) as audio:
        embedding, seconds = embed_speech(audio)
    with rt.db.session() as s:
        person = Person(name=name)
        s.add(person)
        s.flush()
        add_profile(s, person.id, embedding, seconds)
        return person.id


def held_out(speakers_dir, speaker: str) -> np.ndarray:
    enrolment = json.loads((speakers_dir / "enroll.json").read_text())["enroll"][speaker]
    files = sorted(p for p in (speakers_dir / speaker).glob("*.flac") if f"{speaker}/{p.name}" != enrolment)
    pause = np.zeros(16000, dtype=np.float32)
    return np.concatenate([part for f in files[:2] for part in (decode(str(f)), pause)])


def test_live_lines_get_the_enrolled_voice_marked_automatic(sqlite_runtime, testdata):
    import worker

    speakers_dir = testdata / "speakers"
    if not (speakers_dir / "enroll.json").is_file():
        pytest.skip("no shared speaker data")
    rt = sqlite_runtime
    person = enrol(rt, speakers_dir, SPEAKER, "Jane Reader")
    other = enrol(rt, speakers_dir, OTHER, "John Other")
    with rt.db.session() as s:
        c = add_committee(s, "budget", "Budget")
        st = Sitting(committee_id=c.id, status=SittingStatus.LIVE)
        s.add(st)
        s.flush()
        sid = st.id
    put_chunks(rt.storage, sid, held_out(speakers_dir, SPEAKER))
    with rt.db.session() as s:
        s.get(Sitting, sid).status = SittingStatus.RECORDED  # the drain ends with the chunks
    worker.run_inline(rt, "live", {"sitting": sid, "drain": True, "model": "tiny.en", "language": "en"})
    doc = json.loads(rt.storage.get_bytes(livestate.state_key(sid)))
    proposals = doc["speaker_proposals"]
    with rt.db.session(readonly=True) as s:
        rows = {r.id: r for r in s.query(TranscriptSegment).filter_by(sitting_id=sid)}
    assert len(rows) >= 2 and proposals, (len(rows), proposals)
    assert {p["person_id"] for p in proposals} == {person} and other not in {p["person_id"] for p in proposals}
    for p in proposals:
        row = rows[p["segment"]]
        assert p["automatic"] is True and p["source"] == "voice" and p["name"] == "Jane Reader"
        assert 0 < p["score"] <= 1 and (p["start"], p["end"]) == (round(row.start, 3), round(row.end, 3))
        assert row.speaker_id is None  # a proposal, never the confirmed speaker
    # Most of the speaker's lines got the proposal (the short ones may not).
    assert len(proposals) >= len(rows) // 2


@pytest.mark.browser
def test_the_live_page_marks_the_proposed_speaker_as_automatic(tmp_path, testdata, browser):
    """The whole live path: ffmpeg publishes the speaker's held-out speech as live HLS, `sanarip
    record` and a live worker draft it, and the live page shows the enrolled name beside a line."""
    import os

    from tests.conftest import ARTIFACTS, run_cli
    from tests.livefeed import wav_bytes
    from tests.streams import live_chain, make_clip

    speakers_dir = testdata / "speakers"
    if not (speakers_dir / "enroll.json").is_file():
        pytest.skip("no shared speaker data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp_path / "data"), SANARIP_MODEL="tiny.en", SANARIP_SECRET_KEY="live-speakers")
    run_cli("committee", "add", "budget", "--name", "Budget committee", "--language", "en", env=env)
    pid = run_cli("person", "add", "Jane Reader", env=env).stdout.strip()
    enrolment = json.loads((speakers_dir / "enroll.json").read_text())["enroll"][SPEAKER]
    run_cli("person", "enroll", pid, str(speakers_dir / enrolment), env=env)
    speech = tmp_path / "speech.wav"
    speech.write_bytes(wav_bytes(held_out(speakers_dir, SPEAKER)))
    clip = make_clip(tmp_path / "clip.mp4", 40, speech, gop=1.0)
    with live_chain(tmp_path / "src", clip, env, duration=90) as chain:
        page = browser.new_context(locale="en-US").new_page()
        page.goto(f"{chain.url}/live/{chain.sitting}")
        mark = page.locator("#transcript li.seg .auto-speaker").first
        mark.wait_for(timeout=150_000)
        assert mark.inner_text() == "Jane Reader (automatic)"
        assert mark.get_attribute("data-person") == pid
        assert "not confirmed" in mark.get_attribute("title")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "live-speaker-mark.png"), full_page=True)
