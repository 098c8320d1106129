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
