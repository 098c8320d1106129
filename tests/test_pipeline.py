"""The core's owners of job kinds and sitting statuses: payloads, stage order, transitions."""

import pytest
from sqlalchemy import update

from sanarip.catalog import add_committee
from sanarip.models import Job
from sanarip.pipeline import (
    FINAL_PASS,
    ImportPayload,
    IndexPayload,
    JobKind,
    PayloadError,
    RecordPayload,
    TranscribePayload,
    next_jobs,
    parse_payload,
)
from sanarip.sittings import (
    IllegalTransition,
    SittingStatus,
    create_sitting,
    final_pass_done,
    get_sitting,
    transition,
)
from worker import job_done


@pytest.mark.parametrize(("kind", "payload", "message"), [
    ("transcribe", {}, "'sitting' is required"),
    ("transcribe", {"sitting": "5"}, "invalid value '5'"),
    ("transcribe", {"sitting": True}, "invalid value True"),
    ("transcribe", {"sitting": 0}, "no sitting 0"),
    ("index", {"sitting": 1, "speakers": 2}, "unknown payload field(s) speakers"),
    ("live", {"sitting": 1, "drain": "yes"}, "'drain' has an invalid value"),
    ("sleep", {"seconds": "a"}, "'seconds' has an invalid value"),
    ("reindex", {}, "unknown job kind 'reindex'"),
])
def test_payloads_are_validated_at_enqueue(sqlite_runtime, kind, payload, message):
    with pytest.raises(PayloadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sqlite_runtime.queue.enqueue(kind, payload)
    assert sqlite_runtime.queue.counts() == {}


def test_an_invalid_stored_payload_is_dead_lettered_at_claim(sqlite_runtime):
    q = sqlite_runtime.queue
    jid = q.enqueue("transcribe", {"sitting": 3})
    with sqlite_runtime.db.session() as s:
        s.execute(update(Job).where(Job.id == jid).values(payload={"sitting": "three"}))
    assert q.claim("w") is None
    with sqlite_runtime.db.session(readonly=True) as s:
        job = s.get(Job, jid)
        assert job.status == "dead" and "invalid job" in job.error


def test_dedupe_keys_come_from_the_payload():
    assert TranscribePayload(7).dedupe_key() == "transcribe:7"
    assert IndexPayload(7).dedupe_key() != IndexPayload(7, final=True).dedupe_key()
    assert parse_payload("live", {"sitting": 2, "drain": True}).to_dict() == {"sitting": 2, "drain": True}


def test_stage_order_is_one_table():
    assert [p.kind for p in next_jobs(RecordPayload(1))] == [JobKind.TRANSCRIBE]
    assert [p.kind for p in next_jobs(ImportPayload(1))] == [FINAL_PASS[0]]
    chain, job = [], TranscribePayload(1)
    while True:
        chain.append(job.kind)
        following = next_jobs(job)
        if not following:
            break
        job = following[0]
    assert tuple(chain) == FINAL_PASS


def _status(rt, sitting_id: int) -> str:
    with rt.db.session(readonly=True) as s:
        return get_sitting(s, sitting_id).status


def test_a_sitting_is_transcribed_only_when_the_chain_has_run(sqlite_runtime):
    rt = sqlite_runtime
    with rt.db.session() as s:
        st = create_sitting(s, add_committee(s, "budget", "Budget"))
        st.status = SittingStatus.RECORDED
        sid = st.id
    rt.queue.submit(TranscribePayload(sid))
    for kind in FINAL_PASS:
        assert _status(rt, sid) == SittingStatus.RECORDED
        job = rt.queue.claim("w", frozenset({kind}))
        assert job is not None, f"{kind} was not queued by the stage before it"
        job_done(rt, job)
        rt.queue.complete(job.id, "w")
    assert _status(rt, sid) == SittingStatus.TRANSCRIBED
    assert rt.queue.claim("w") is None  # nothing follows the chain


@pytest.mark.parametrize("status", [SittingStatus.REVIEWED, SittingStatus.PUBLISHED])
def test_rerunning_the_final_pass_keeps_a_reviewed_or_published_status(sqlite_runtime, status):
    with sqlite_runtime.db.session() as s:
        st = create_sitting(s, add_committee(s, "budget", "Budget"))
        st.status = status
        final_pass_done(st)
        assert st.status == status


def test_illegal_transitions_are_refused(sqlite_runtime):
    with sqlite_runtime.db.session() as s:
        st = create_sitting(s, add_committee(s, "budget", "Budget"))
        with pytest.raises(IllegalTransition, match="cannot become published"):
            transition(st, SittingStatus.PUBLISHED)
        with pytest.raises(IllegalTransition, match="needs a reason"):
            transition(st, SittingStatus.FAILED)
        transition(st, SittingStatus.LIVE)
        transition(st, SittingStatus.RECORDED)  # an interrupted recording is still recorded
        with pytest.raises(IllegalTransition, match="cannot become live"):
            transition(st, SittingStatus.LIVE)
        assert st.status == "recorded" and st.failure_reason is None
