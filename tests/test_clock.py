"""One clock: a sitting at 01:44 in Bishkek on 2 December is a 2 December sitting everywhere."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sanarip import clock
from sanarip.config import load_settings
from sanarip.editing import publish
from sanarip.models import Publication, Sitting, TranscriptSegment
from search import open_index
from search.documents import sitting_documents
from tests.seed import seed, words_for
from web import create_app

LATE = datetime(2026, 12, 1, 19, 44, tzinfo=UTC)  # 2026-12-02 01:44 in Asia/Bishkek (UTC+6)


def test_clock_helpers():
    tz = clock.zone()
    assert clock.local_date(LATE, tz) == date(2026, 12, 2)
    assert clock.local_iso(LATE) == "2026-12-02T01:44:00+06:00"
    assert clock.local_label(LATE.replace(tzinfo=None)) == "2026-12-02 01:44"  # naive = UTC, as stored
    lo, hi = clock.day_range(date(2026, 12, 2), date(2026, 12, 2))
    assert lo == datetime(2026, 12, 1, 18, 0, tzinfo=UTC) and hi == lo + timedelta(days=1)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        clock.parse_day("2 Dec")


@pytest.fixture
def late_app(settings_env):
    app = create_app(load_settings(settings_env))
    rt = app.extensions["sanarip"]
    seed(rt)
    with rt.db.session() as s:
        sitting = Sitting(committee_id=1, title="Ночное заседание", status="transcribed", started_at=LATE,
                          ended_at=LATE + timedelta(hours=1), duration=60.0, scheduled_start=LATE)
        s.add(sitting)
        s.flush()
        text = "Полуночный бюджет утверждён."
        s.add(TranscriptSegment(sitting_id=sitting.id, start=0.0, end=4.0, text=text, words=words_for(text, 0, 4),
                                language="ru", source="final"))
        s.flush()
        sid = sitting.id
        publish(s, sid, None)
        s.execute(Publication.__table__.update().where(Publication.sitting_id == sid).values(published_at=LATE))
    index = open_index(rt.settings)
    with rt.db.session(readonly=True) as s:
        index.replace_sitting(sid, sitting_documents(s, s.get(Sitting, sid)))
    index.close()
    app.config["late"] = sid
    return app


def test_dates_people_read_are_local(late_app):
    client, sid = late_app.test_client(), late_app.config["late"]
    hits = client.get("/api/v1/search?q=полуночный&from=2026-12-02&to=2026-12-02").get_json()["items"]
    assert [h["sitting"] for h in hits] == [sid] and hits[0]["date"] == "2026-12-02"
    assert client.get("/api/v1/search?q=полуночный&to=2026-12-01").get_json()["items"] == []
    facets = client.get("/api/v1/search?q=полуночный").get_json()
    assert "2026-12-01" not in str(facets)
    api = client.get(f"/api/v1/sittings/{sid}").get_json()
    assert api["started_at"] == "2026-12-02T01:44:00+06:00"
    steno = client.get(f"/s/{sid}/export.json").get_json()
    assert steno["sitting"]["date"] == "2026-12-02"
    assert steno["sitting"]["published_at"].startswith("2026-12-02T01:44:00+06:00")
    assert 'FRBRdate date="2026-12-02"' in client.get(f"/s/{sid}/export.xml").get_data(as_text=True)
    html = client.get(f"/s/{sid}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Official stenogram, published 2026-12-02" in html and "2026-12-02 01:44" in html
    atom = client.get("/search.atom?q=полуночный").get_data(as_text=True)
    assert "2026-12-02T00:00:00+06:00" in atom and "2026-12-01" not in atom
    search_html = client.get("/search?q=полуночный", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2026-12-02" in search_html and "2026-12-01" not in search_html
