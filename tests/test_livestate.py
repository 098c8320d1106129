"""The live-state file: built from the database, stored atomically, served with ETag and 304s."""

import json

import pytest

from sanarip import livestate
from sanarip.config import load_settings
from sanarip.models import Sitting
from tests.seed import seed
from web import create_app


@pytest.fixture
def app(settings_env):
    app = create_app(load_settings(settings_env))
    app.config["ids"] = seed(app.extensions["sanarip"])
    return app


def test_document_has_version_partial_and_empty_slots(app):
    rt, lid = app.extensions["sanarip"], app.config["ids"]["live"]
    with rt.db.session() as s:
        s.get(Sitting, lid).live_partial = {"start": 6.5, "text": "и ещё слова", "language": "ru"}
    doc = livestate.write(rt, lid)
    stored = json.loads(rt.storage.get_bytes(livestate.state_key(lid)))
    assert stored == doc
    assert doc["version"] == livestate.SCHEMA_VERSION == 1 and doc["sitting"] == lid and doc["status"] == "live"
    assert doc["partial"] == {"start": 6.5, "text": "и ещё слова", "language": "ru"}
    assert doc["committed_until"] == 3.0  # the seeded live line ends at 3 s
    assert doc["agenda_item"] is None and doc["vote_events"] == [] and doc["speaker_proposals"] == []
    folder = rt.storage.path(livestate.state_key(lid)).parent
    assert [p.name for p in folder.iterdir()] == ["live.json"]  # no temp file left behind


def test_an_ended_sitting_shows_no_partial_and_slots_take_providers(app, monkeypatch):
    rt, sid = app.extensions["sanarip"], app.config["ids"]["sitting"]
    with rt.db.session() as s:
        s.get(Sitting, sid).live_partial = {"start": 1.0, "text": "left over", "language": "en"}
    monkeypatch.setattr(livestate, "_PROVIDERS", {})
    livestate.register_slot("vote_events", lambda s, i: [{"id": f"vote-{i}", "result": "pass"}])
    doc = livestate.write(rt, sid)
    assert doc["partial"] is None and doc["vote_events"] == [{"id": f"vote-{sid}", "result": "pass"}]
    with pytest.raises(ValueError, match="unknown live-state slot"):
        livestate.register_slot("weather", lambda s, i: None)
    with rt.db.session(readonly=True) as s, pytest.raises(livestate.NotFound):
        livestate.build(s, 999_999)


def test_served_with_etag_short_cache_and_304(app):
    rt, lid = app.extensions["sanarip"], app.config["ids"]["live"]
    client = app.test_client()
    livestate.write(rt, lid)
    url = f"/media/{livestate.state_key(lid)}"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.headers["Cache-Control"] == "public, max-age=1, must-revalidate" and first.headers["ETag"]
    assert json.loads(first.data)["version"] == 1
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    with rt.db.session() as s:
        s.get(Sitting, lid).live_partial = {"start": 4.0, "text": "новое", "language": "ru"}
    livestate.write(rt, lid)
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and json.loads(changed.data)["partial"]["text"] == "новое"
    assert changed.headers["ETag"] != first.headers["ETag"]
