"""The clerk's speaker actions through the API: accept one / all above a score, assign a run,
relabel a cluster; each a speaker revision on the history page; a learn_voice job queued."""

from sqlalchemy import select

from sanarip.catalog import add_person
from sanarip.models import Job, Revision, TranscriptSegment
from tests.test_clerk import app, logged_in, segments  # noqa: F401 - the clerk tests' fixture

__all__ = ["app"]


def _label(app, labels_and_proposals):  # noqa: F811
    rt = app.extensions["sanarip"]
    with rt.db.session() as s:
        other = add_person(s, "Осмонов Бакыт").id
        rows = list(s.scalars(select(TranscriptSegment).where(
            TranscriptSegment.sitting_id == app.config["ids"]["sitting"]).order_by(TranscriptSegment.start)))
        for row, (label, proposal) in zip(rows, labels_and_proposals, strict=False):
            row.speaker_label, row.speaker_id = label, None
            row.speaker_proposal = proposal and {**proposal, "person_id": proposal["person_id"] or other}
    return other


def test_accept_assign_relabel(app):  # noqa: F811
    person = app.config["ids"]["person"]
    sid = app.config["ids"]["sitting"]
    voice = {"person_id": person, "name": "Айгуль Асанова", "score": 0.91, "source": "voice"}
    weak = {"person_id": None, "name": "Осмонов Бакыт", "score": 0.6, "source": "voice"}
    other = _label(app, [("S1", voice), ("S2", weak), ("S1", voice)])
    rows = segments(app)
    assert len(rows) >= 3
    client, headers = logged_in(app, "clara")
    # Accept all above 0.8: the two strong proposals, not the weak one.
    r = client.post(f"/api/v1/sittings/{sid}/speakers/accept", json={"min_score": 0.8}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert sorted(r.get_json()["changed"]) == sorted([rows[0].id, rows[2].id])
    # Accept one, whatever its score.
    r = client.post(f"/api/v1/sittings/{sid}/speakers/accept", json={"segments": [rows[1].id]}, headers=headers)
    assert r.get_json()["changed"] == [rows[1].id]
    assert [x.speaker_id for x in segments(app)[:3]] == [person, other, person]
    # Relabel a cluster: "S1 is Осмонов".
    r = client.post(f"/api/v1/sittings/{sid}/speakers/relabel", json={"label": "S1", "person": other}, headers=headers)
    assert sorted(r.get_json()["changed"]) == sorted([rows[0].id, rows[2].id])
    # Assign a run.
    r = client.post(f"/api/v1/sittings/{sid}/speakers/assign", json={"segments": [rows[0].id, rows[1].id],
                                                                     "person": person}, headers=headers)
    assert sorted(r.get_json()["changed"]) == sorted([rows[0].id, rows[1].id])
    assert [x.speaker_id for x in segments(app)[:3]] == [person, person, other]
    # Bad input: one clear error, nothing changed.
    r = client.post(f"/api/v1/sittings/{sid}/speakers/relabel", json={"label": "S9", "person": other}, headers=headers)
    assert r.status_code == 404
    r = client.post(f"/api/v1/sittings/{sid}/speakers/accept", json={"min_score": 2}, headers=headers)
    assert r.status_code == 400
    rt = app.extensions["sanarip"]
    with rt.db.session(readonly=True) as s:
        actions = s.scalars(select(Revision.action).where(Revision.sitting_id == sid)).all()
        assert actions and set(actions) == {"speaker"}
        jobs = s.scalars(select(Job.kind).where(Job.kind == "learn_voice")).all()
        assert jobs
    page = client.get(f"/s/{sid}/history").get_data(as_text=True)
    assert "speaker-change" in page and "Осмонов Бакыт → Айгуль Асанова" in page
