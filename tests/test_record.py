"""The parliamentary record: Popolo people and groups, agenda items and vote events placed on a real
sitting's timeline, the pages and API that show them, and exports checked by the official schemas."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.importer import register
from ingest.recorder import Recorder
from sanarip.config import load_settings
from sanarip.errors import SanaripError
from sanarip.models import (
    Committee,
    Identifier,
    MediaSegment,
    Membership,
    Organization,
    Person,
    Sitting,
    TranscriptSegment,
)
from sanarip.popolo import PopoloError, import_popolo, popolo_document
from sanarip.runtime import Runtime
from sanarip.timeline import Timeline
from tests.conftest import run_cli
from tests.standards import akoma_ntoso_errors, popolo_errors
from web import create_app

STARTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC) + timedelta(hours=-6)  # 10:00 in Bishkek

PARLIAMENT = {
    "persons": [
        {"id": "p-asanova", "name": "Айгуль Асанова", "identifiers": [{"scheme": "jk", "identifier": "JK-001"}]},
        {"id": "p-toktogulov", "name": "Бакыт Токтогулов"},
        {"id": "p-abdiev", "name": "Нурлан Абдиев"},
        {"id": "p-isaeva", "name": "Жазгүл Исаева"},
    ],
    "organizations": [
        {"id": "f-atajurt", "name": "Ата-Журт", "classification": "faction"},
        {"id": "f-mekenim", "name": "Мекеним Кыргызстан", "classification": "faction"},
        {"id": "c-budget", "name": "Budget committee", "classification": "committee",
         "identifiers": [{"scheme": "sanarip", "identifier": "budget"}]},
        {"id": "c-ecology", "name": "Ecology committee", "classification": "committee"},
    ],
    "posts": [{"id": "post-budget-chair", "label": "Chair", "role": "chair", "organization_id": "c-budget"}],
    "memberships": [
        {"person_id": "p-asanova", "organization_id": "f-atajurt", "start_date": "2021-01-01"},
        {"person_id": "p-toktogulov", "organization_id": "f-atajurt", "start_date": "2021-01-01"},
        {"person_id": "p-abdiev", "organization_id": "f-mekenim", "start_date": "2021-01-01"},
        {"person_id": "p-isaeva", "organization_id": "f-mekenim", "start_date": "2021-01-01",
         "end_date": "2025-12-31"},
        {"person_id": "p-isaeva", "organization_id": "f-atajurt", "start_date": "2026-01-01"},
        {"id": "m-chair", "person_id": "p-asanova", "organization_id": "c-budget", "post_id": "post-budget-chair",
         "role": "chair", "start_date": "2021-01-01"},
    ],
}


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.db.session(readonly=True) as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Person, Organization, Membership, Identifier, Committee)}


def test_popolo_import_is_idempotent_and_matches_by_identifiers(runtime):
    from sanarip.catalog import add_committee

    with runtime.db.session() as s:
        add_committee(s, "budget", "Budget committee")
    with runtime.db.session() as s:
        first = import_popolo(s, PARLIAMENT)
    assert first.added == {"persons": 4, "organizations": 4, "posts": 1, "memberships": 6}
    before = _counts(runtime)
    assert before["Committee"] == 2  # budget linked, ecology created
    with runtime.db.session() as s:
        again = import_popolo(s, PARLIAMENT)
    assert again.added == dict.fromkeys(again.added, 0) and again.updated == dict.fromkeys(again.updated, 0)
    assert _counts(runtime) == before
    # A later dataset without Popolo ids: found by another identifier, renamed, nothing duplicated.
    with runtime.db.session() as s:
        later = import_popolo(s, {"persons": [{"name": "Айгүл Асанова",
                                               "identifiers": [{"scheme": "jk", "identifier": "JK-001"}]}]})
    assert later.added["persons"] == 0 and later.updated["persons"] == 1
    with runtime.db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 4
        names = set(s.scalars(select(Person.name)))
        assert "Айгүл Асанова" in names
        budget = s.scalar(select(Organization).where(Organization.classification == "committee",
                                                     Organization.name == "Budget committee"))
        assert s.get(Committee, budget.committee_id).slug == "budget"
        eco = s.scalar(select(Organization).where(Organization.name == "Ecology committee"))
        assert s.get(Committee, eco.committee_id).slug == "c-ecology"
        isaeva = s.scalar(select(Person).where(Person.name == "Жазгүл Исаева"))
        assert isaeva.faction == "Ата-Журт"  # the current faction, not the one that ended
        doc = popolo_document(s)
    assert popolo_errors(doc) == []
    assert {"scheme": "popolo", "identifier": "p-toktogulov"} in sum((p["identifiers"] for p in doc["persons"]), [])


@pytest.mark.parametrize("bad, where", [
    ({**PARLIAMENT, "memberships": [PARLIAMENT["memberships"][0], {"person_id": "p-nobody",
                                                                   "organization_id": "f-atajurt"}]},
     "memberships[1].person_id: unknown person 'p-nobody'"),
    ({"persons": [{"id": "x", "name": "Ok"}, {"id": "y"}]}, "persons[1]: 'name' is required"),
    ({"organizations": [{"id": "c", "name": "C", "classification": "committee",
                         "identifiers": [{"scheme": "sanarip", "identifier": "nosuch"}]}]},
     "organizations[0]: no Sanarip committee with slug 'nosuch'"),
    ({"persons": [{"id": "x", "name": "Ok"}], "organizations": [{"id": "f", "name": "F"}],
      "memberships": [{"person_id": "x", "organization_id": "f", "start_date": "01.02.2021"}]},
     "memberships[0]: 'start_date' must be an ISO date"),
])
def test_bad_popolo_import_stores_nothing(sqlite_runtime, bad, where):
    from sanarip.catalog import add_committee

    with sqlite_runtime.db.session() as s:
        add_committee(s, "budget", "Budget committee")
    before = _counts(sqlite_runtime)
    with pytest.raises(PopoloError, match=f"^{re.escape(where)}"), sqlite_runtime.db.session() as s:
        import_popolo(s, bad)
    assert _counts(sqlite_runtime) == before


def _segment(seq, media_start, duration, wall, gap=False, wall_end=None):
    return MediaSegment(sitting_id=1, seq=seq, media_start=media_start, duration=duration, wall_clock_start=wall,
                        wall_clock_end=wall_end or wall + timedelta(seconds=duration), is_gap=gap)


def test_timeline_respects_gaps_and_the_sources_own_clock():
    """Segments stamped with a lagging source's program-date-time (20 s behind receipt) and a gap."""
    pdt = STARTED  # what the source said its first sample was; we received it 20 s later
    rows = [_segment(0, 0.0, 6.0, pdt), _segment(1, 6.0, 6.0, pdt + timedelta(seconds=6)),
            _segment(2, 12.0, 0.0, pdt + timedelta(seconds=12), gap=True, wall_end=pdt + timedelta(seconds=42)),
            _segment(3, 12.0, 6.0, pdt + timedelta(seconds=42)), _segment(4, 18.0, 6.0, pdt + timedelta(seconds=48))]
    tl = Timeline(rows, started_at=pdt + timedelta(seconds=20), duration=24.0)
    assert tl.to_media(pdt + timedelta(seconds=8.5)).media_time == pytest.approx(8.5)
    inside = tl.to_media(pdt + timedelta(seconds=30))
    assert inside.in_gap and inside.media_time == pytest.approx(12.0)  # the gap's end, flagged
    after = tl.to_media(pdt + timedelta(seconds=50))
    assert not after.in_gap and after.media_time == pytest.approx(20.0)
    assert tl.to_wall(20.0) == pdt + timedelta(seconds=50)
    assert tl.to_wall(3.0) == pdt + timedelta(seconds=3)
    with pytest.raises(SanaripError, match="before the sitting's recording began"):
        tl.to_media(pdt - timedelta(minutes=5))
    with pytest.raises(SanaripError, match="after the sitting's recording ended"):
        tl.to_media(pdt + timedelta(minutes=5))


# --- a real sitting ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def parliament(tmp_path_factory, testdata):
    """A sitting imported from real speech with --started-at (media second 0 = 10:00 Bishkek), the
    parliament's Popolo file, and a second real sitting without agenda or votes."""
    root = tmp_path_factory.mktemp("record")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(root / "data"), SANARIP_SECRET_KEY="test-secret")
    run_cli("init", env=env)
    run_cli("committee", "add", "budget", "--name", "Budget committee", env=env)
    (root / "popolo.json").write_text(json.dumps(PARLIAMENT, ensure_ascii=False), encoding="utf-8")
    out = run_cli("popolo", "import", str(root / "popolo.json"), env=env).stdout
    assert "persons: 4 added, 0 updated" in out
    again = run_cli("popolo", "import", str(root / "popolo.json"), env=env).stdout
    assert "persons: 0 added, 0 updated" in again and "memberships: 0 added, 0 updated" in again
    rt = Runtime(load_settings(env))
    speech = testdata / "ru" / "long_voxforge_1-20121125-pgp_7utts.wav"
    sitting_id, _ = register(rt, speech, "budget", "Бюджет 2027", None, STARTED)
    Recorder(rt, sitting_id, from_file=True).run()
    bare_id, _ = register(rt, testdata / "ru" / "voxforge_ru_0022.wav", "budget", None, None, STARTED)
    Recorder(rt, bare_id, from_file=True).run()
    with rt.db.session() as s:
        ids = {name: pid for name, pid in s.execute(select(Person.name, Person.id))}
        for sid in (sitting_id, bare_id):  # clerks' attributions of two speakers
            s.add_all([TranscriptSegment(sitting_id=sid, start=1.0, end=8.0, text="Заседание открыто.",
                                         speaker_id=ids["Айгуль Асанова"], language="ru"),
                       TranscriptSegment(sitting_id=sid, start=25.0, end=31.0, text="Прошу голосовать.",
                                         speaker_id=ids["Нурлан Абдиев"], language="ru")])
    run_cli("user", "add", "eddie", "--role", "editor", env=env, input="secret-password-1\n")
    token = run_cli("token", "create", "eddie", env=env).stdout.strip()
    yield {"env": env, "rt": rt, "root": root, "sitting": sitting_id, "bare": bare_id, "token": token,
           "persons": ids}
    rt.close()


def _at(seconds: float) -> str:
    """The Bishkek wall-clock time of media second ``seconds`` of the imported sitting."""
    return (STARTED + timedelta(seconds=seconds)).astimezone(timezone(timedelta(hours=6))).isoformat()


def _vote(identifier: str, seconds: float, yes: list[str], no: list[str], absent: list[str] = (),
          counts: dict | None = None, bill: str = "Bill 123", result: str = "adopted") -> dict:
    votes = ([{"voter_id": v, "option": "yes"} for v in yes] + [{"voter_id": v, "option": "no"} for v in no]
             + [{"voter_id": v, "option": "absent"} for v in absent])
    event = {"identifier": identifier, "motion": {"text": f"Adopt {bill}", "identifier": bill},
             "start_date": _at(seconds), "result": result, "votes": votes}
    if counts is not None:
        event["counts"] = [{"option": k, "value": v} for k, v in counts.items()]
    return event


def test_agenda_and_votes_land_on_their_media_second(parliament):
    env, root, sid = parliament["env"], parliament["root"], parliament["sitting"]
    with parliament["rt"].db.session(readonly=True) as s:
        sitting = s.get(Sitting, sid)
        assert sitting.started_at == STARTED
        assert sitting.ended_at == STARTED + timedelta(seconds=sitting.duration)  # start + duration, not "now"
        assert sitting.duration > 55
    agenda = [{"identifier": "Bill 123", "title": "On the budget for 2027", "start": 0,
               "link": "https://kenesh.kg/bills/123"},
              {"identifier": "Bill 124", "title": "On taxes", "start_date": _at(20.0)}]
    (root / "agenda.json").write_text(json.dumps(agenda), encoding="utf-8")
    for _ in range(2):  # an import replaces the agenda: twice is the same as once
        assert "2 agenda items" in run_cli("agenda", "import", str(sid), str(root / "agenda.json"), env=env).stdout
    # The import queued the sitting's re-index (the CLI has no index of its own): a worker runs it.
    run_cli("worker", "--kinds", "index", "--until-idle", env=env)
    votes = [_vote("ve-1", 15.0, ["p-asanova", "p-toktogulov"], ["p-abdiev"], ["p-isaeva"],
                   counts={"yes": 2, "no": 1, "absent": 1})]
    (root / "votes.json").write_text(json.dumps(votes), encoding="utf-8")
    out = run_cli("votes", "import", str(sid), str(root / "votes.json"), env=env).stdout
    assert "ve-1: at 15.0 s" in out

    app = create_app(load_settings(env))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {parliament['token']}"}
    pushed = _vote("ve-2", 40.0, ["JK-001", "p-abdiev"], ["p-toktogulov"], ["p-isaeva"], bill="Bill 124",
                   result="rejected")
    resp = client.post(f"/api/v1/sittings/{sid}/vote-events", json=pushed, headers=auth)
    assert resp.status_code == 201, resp.get_json()
    again = client.post(f"/api/v1/sittings/{sid}/vote-events", json=pushed, headers=auth)  # idempotent
    assert again.status_code == 201

    events = client.get(f"/api/v1/sittings/{sid}/vote-events").get_json()["items"]
    assert [e["identifier"] for e in events] == ["ve-1", "ve-2"]
    for event, expected in zip(events, (15.0, 40.0), strict=True):
        assert abs(event["media_time"] - expected) <= 2.0
        assert datetime.fromisoformat(event["start_date"]).utcoffset() is not None
    assert events[0]["counts"] == [{"option": "yes", "value": 2}, {"option": "no", "value": 1},
                                   {"option": "absent", "value": 1}]
    groups = {g["group"]: g["result"] for g in events[1]["group_results"]}  # computed: none were sent
    assert groups == {"Ата-Журт": "yes", "Мекеним Кыргызстан": "yes"}
    items = client.get(f"/api/v1/sittings/{sid}/agenda").get_json()["items"]
    assert [(i["identifier"], i["start"]) for i in items] == [("Bill 123", 0.0), ("Bill 124", pytest.approx(20.0,
                                                                                                         abs=2.0))]
    assert items[0]["end"] == items[1]["start"]
    # Search: each moment carries the agenda item its media time falls in; filter and facet by it.
    found = client.get("/api/v1/search", query_string={"q": "голосовать OR заседание"}).get_json()
    assert {h["start"]: h["agenda_item"]["identifier"] for h in found["items"] if h["sitting"] == sid} == {
        1.0: "Bill 123", 25.0: "Bill 124"}
    assert found["facets"]["agenda"] == {"Bill 123": 1, "Bill 124": 1}
    narrowed = client.get("/api/v1/search", query_string={"q": "голосовать OR заседание",
                                                          "agenda": "Bill 124"}).get_json()
    hit = narrowed["items"][0]
    assert narrowed["total"] == 1 and hit["start"] == 25.0 and hit["agenda_item"] == {
        "identifier": "Bill 124", "title": "On taxes", "position": 2, "link": f"/s/{sid}/item/2"}
    assert client.get("/api/v1/search", query_string={"q": "голосовать", "agenda": "x" * 201}).status_code == 400
    html = client.get("/search", query_string={"q": "голосовать", "agenda": "Bill 124"},
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Bill 124 — On taxes" in html and "agenda=Bill+124" in html and 'value="Bill 124"' in html

    page = client.get(f"/s/{sid}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="chapters"' in page and "Bill 124 — On taxes" in page and f"/s/{sid}/item/2" in page
    assert "Bill 123 — adopted 2 · 1 · 0" in page and 'class="mark vote"' in page
    assert 'class="agenda-heading"' in page and 'class="vote-event"' in page  # in the transcript
    jump = client.get(f"/s/{sid}/item/2")
    assert jump.status_code == 302 and jump.headers["Location"].endswith(f"/s/{sid}?t={items[1]['start']:.1f}")
    assert client.get(f"/s/{sid}/item/9").status_code == 404

    csv_rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/votes.csv").get_data(as_text=True))))
    assert len(csv_rows) == 8 and {r["vote_event"] for r in csv_rows} == {"ve-1", "ve-2"}

    asanova = parliament["persons"]["Айгуль Асанова"]
    record = client.get(f"/api/v1/persons/{asanova}/record").get_json()
    assert record["attendance"]["share"] == 1.0 and len(record["votes"]) == 2
    assert {v["identifier"]: v["faction_majority"] for v in record["votes"]} == {"ve-1": "yes", "ve-2": "yes"}
    isaeva = parliament["persons"]["Жазгүл Исаева"]
    assert client.get(f"/api/v1/persons/{isaeva}/record").get_json()["attendance"]["share"] == 0.0
    deputy_page = client.get(f"/p/{asanova}/record", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "100 % (2/2)" in deputy_page and "Budget committee" in deputy_page
    compare = client.get("/factions.csv").get_data(as_text=True)
    rows = {r["faction"]: r for r in csv.DictReader(io.StringIO(compare))}
    # Ата-Журт: ve-1 yes 2 (Isaeva absent) → 1.0; ve-2 yes 1, no 1 → 0.0; mean 0.5.
    assert float(rows["Ата-Журт"]["cohesion"]) == 0.5
    assert float(rows["Мекеним Кыргызстан"]["cohesion"]) == 1.0
    assert client.get("/factions?from=2030-01-01", headers={"Accept-Language": "en"}).status_code == 200
    assert "Ата-Журт" in client.get("/factions").get_data(as_text=True)


def test_bad_votes_and_agenda_store_nothing(parliament):
    env, root, sid = parliament["env"], parliament["root"], parliament["sitting"]
    app = create_app(load_settings(env))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {parliament['token']}"}
    before = client.get(f"/api/v1/sittings/{sid}/vote-events").get_json()["items"]
    cases = [
        ([_vote("ok-1", 10.0, ["p-asanova"], []), _vote("bad-1", 12.0, ["p-nobody"], [])],
         "vote event 1 (bad-1): votes[0]: unknown voter 'p-nobody'"),
        ([_vote("bad-2", 12.0, ["p-asanova"], ["p-abdiev"], counts={"yes": 5, "no": 1})],
         "vote event 0 (bad-2): counts disagree with the votes for 'yes'"),
        ([_vote("bad-3", 3600.0, ["p-asanova"], [])], "vote event 0 (bad-3): "),
    ]
    for body, message in cases:
        resp = client.post(f"/api/v1/sittings/{sid}/vote-events", json=body, headers=auth)
        assert resp.status_code == 400 and resp.get_json()["error"].startswith(message), resp.get_json()
        (root / "bad.json").write_text(json.dumps(body), encoding="utf-8")
        proc = run_cli("votes", "import", str(sid), str(root / "bad.json"), env=env, check=False)
        assert proc.returncode == 1 and proc.stderr.strip() == f"error: {resp.get_json()['error']}"
    assert "after the sitting's recording ended" in resp.get_json()["error"]
    assert client.get(f"/api/v1/sittings/{sid}/vote-events").get_json()["items"] == before
    assert client.post(f"/api/v1/sittings/{sid}/vote-events", json=cases[0][0]).status_code == 401
    agenda = client.get(f"/api/v1/sittings/{sid}/agenda").get_json()["items"]
    (root / "bad-agenda.json").write_text(json.dumps([{"identifier": "X", "title": "Fine", "start": 1},
                                                      {"identifier": "Y", "start": 2}]), encoding="utf-8")
    proc = run_cli("agenda", "import", str(sid), str(root / "bad-agenda.json"), env=env, check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == "error: item 1: 'title' is required"
    assert client.get(f"/api/v1/sittings/{sid}/agenda").get_json()["items"] == agenda


def test_exports_validate_against_the_official_schemas(parliament):
    """Both real sittings, one with agenda and votes (after the test above) and one without."""
    client = create_app(load_settings(parliament["env"])).test_client()
    sid, bare = parliament["sitting"], parliament["bare"]
    whole = client.get("/api/v1/popolo.json").get_json()
    assert popolo_errors(whole) == []
    assert len(whole["persons"]) == 4 and len(whole["vote_events"]) >= 2
    assert any(v["votes"] for v in whole["vote_events"])
    for sitting_id in (sid, bare):
        doc = client.get(f"/api/v1/sittings/{sitting_id}/popolo.json").get_json()
        assert popolo_errors(doc) == []
        xml = client.get(f"/s/{sitting_id}/export.xml").data
        assert akoma_ntoso_errors(xml) == [], xml[:2000]
        text = xml.decode()
        assert '<FRBRlanguage language="rus"' in text and "startTime=\"2026-03-02T04:00:01+00:00\"" in text
    with_record = client.get(f"/s/{sid}/export.xml").data.decode()
    assert with_record.count("<debateSection ") == 2 and 'name="item-2"' in with_record
    assert "<voting " in with_record and 'refersTo="#option-yes"' in with_record
    assert 'TLCPerson eId="person-' in with_record
    assert client.get(f"/s/{bare}/export.xml").data.decode().count("<debateSection ") == 1


def test_empty_and_unknown_documents(tmp_path):
    """Files that are not Popolo JSON: a one-line error, nothing stored."""
    path: Path = tmp_path / "x.json"
    path.write_text("[1, 2", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp_path / "data"))
    proc = run_cli("popolo", "import", str(path), env=env, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


def test_clerk_console_next_item_and_agenda_corrections(parliament):
    """A live sitting: the clerk presses "next item" twice; later the agenda is corrected through the API;
    the committee's exports carry the items and votes."""
    env, sid = parliament["env"], parliament["sitting"]
    run_cli("user", "add", "clara", "--role", "clerk", env=env, input="clerk-password-1\n")
    rt = parliament["rt"]
    with rt.db.session() as s:
        live = Sitting(committee_id=s.get(Sitting, sid).committee_id, title="Live", status="live",
                       started_at=datetime.now(UTC) - timedelta(seconds=90))
        s.add(live)
        s.flush()
        live_id = live.id
    app = create_app(load_settings(env))
    anonymous = app.test_client()
    assert anonymous.get(f"/live/{live_id}/console").status_code == 302  # to the login page
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"username": "clara", "password": "clerk-password-1",
                                       "csrf_token": token}).status_code == 302
    page = client.get(f"/live/{live_id}/console", headers={"Accept-Language": "en"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert 'id="next-item"' in page
    assert client.post(f"/live/{live_id}/console", data={"identifier": "Bill 9", "title": "Water"}).status_code == 400
    for bill in ("Bill 9", "Bill 10"):
        resp = client.post(f"/live/{live_id}/console", data={"identifier": bill, "title": "Water",
                                                             "csrf_token": token})
        assert resp.status_code == 302
    items = client.get(f"/api/v1/sittings/{live_id}/agenda").get_json()["items"]
    assert [i["identifier"] for i in items] == ["Bill 9", "Bill 10"]
    assert 85 <= items[0]["start"] <= 120 and items[0]["end"] == items[1]["start"]  # the wall clock of the press
    from sanarip import livestate

    state = json.loads(rt.storage.get_bytes(livestate.state_key(live_id)))
    assert state["agenda_item"]["identifier"] == "Bill 10"  # the live page's slot, rewritten on the press
    # Corrections afterwards (the editor's way in): the whole agenda replaced, bad input refused.
    headers = {"X-CSRF-Token": token}
    bad = client.post(f"/api/v1/sittings/{sid}/agenda", json=[{"identifier": "X", "start": 5}], headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"] == "item 0: 'title' is required"
    fixed = [{"identifier": "Bill 123", "title": "On the budget for 2027", "start": 0},
             {"identifier": "Bill 124", "title": "On taxes (second reading)", "start": 20.0}]
    resp = client.post(f"/api/v1/sittings/{sid}/agenda", json=fixed, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["items"][1]["title"] == "On taxes (second reading)"
    # The web app re-indexed the sitting at once: its hits carry the corrected item.
    found = client.get("/api/v1/search", query_string={"q": "голосовать", "agenda": "Bill 124"}).get_json()
    assert [h["agenda_item"]["title"] for h in found["items"] if h["sitting"] == sid] == ["On taxes (second reading)"]
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/committees/budget/export.csv").get_data(as_text=True))))
    assert {r["agenda_item"] for r in rows if r["sitting"] == str(sid)} == {
        "Bill 123 — On the budget for 2027", "Bill 124 — On taxes (second reading)"}
    votes = list(csv.DictReader(io.StringIO(client.get("/api/v1/committees/budget/votes.csv").get_data(as_text=True))))
    assert {r["vote_event"] for r in votes} >= {"ve-1", "ve-2"}


def test_the_item_of_a_moment_is_found_as_the_spans_say():
    """``item_locator`` (bisection, used for every indexed segment) agrees with a plain scan of the
    spans: items with and without ends, a hole between two, an end past the next start."""
    from types import SimpleNamespace

    from sanarip.agenda import item_locator, spans

    def plain(items, duration, t):
        found = None
        for item, start, end in spans(items, duration):
            if start <= t and (t < end or item is items[-1]):
                found = item
        return found

    items = [SimpleNamespace(start=s, end=e) for s, e in
             [(5.0, None), (10.0, 20.0), (25.0, 40.0), (30.0, None), (30.0, 32.0), (50.0, 55.0)]]
    locate = item_locator(items, 60.0)
    moments = [n / 4 for n in range(0, 300)]
    assert [locate(t) for t in moments] == [plain(items, 60.0, t) for t in moments]
    assert locate(4.9) is None and locate(22.0) is None and locate(35.0) is items[2]  # before, a hole, overlapped
    assert locate(70.0) is items[-1] and item_locator([], 10.0)(3.0) is None
