"""A clerk's way in, server side: the dashboard's queues, Edit/History links, ?next= without an
open redirect, private caching of personalised pages, and the changes Publish would make."""

import re

import pytest
from sqlalchemy import update

from sanarip.accounts import add_user
from sanarip.config import load_settings
from sanarip.models import Sitting, TranscriptSegment
from sanarip.sittings import SittingStatus
from tests.seed import seed
from tests.test_clerk import PASSWORD, csrf, logged_in, segments
from web import create_app


@pytest.fixture
def app(settings_env):
    """tests/seed.py's data with a clerk and an editor (added in-process: quicker than the CLI)."""
    app = create_app(load_settings(settings_env))
    rt = app.extensions["sanarip"]
    app.config["ids"] = seed(rt)
    with rt.db.session() as s:
        add_user(s, "clara", PASSWORD, "clerk")
        add_user(s, "eddie", PASSWORD, "editor")
    return app


def sittings_of(html: str, queue: str) -> list[str]:
    section = re.search(rf'<section class="queue" id="queue-{queue}".*?</section>', html, re.S).group(0)
    return re.findall(r'<tr id="dash-(\d+)"', section)


def test_dashboard_lists_live_review_and_publish_queues(app):
    ids = app.config["ids"]
    rt = app.extensions["sanarip"]
    with rt.db.session() as s:
        reviewed = Sitting(committee_id=s.get(Sitting, ids["sitting"]).committee_id, title="Reviewed one",
                           status=SittingStatus.REVIEWED)
        s.add(reviewed)
        s.flush()
        reviewed_id = reviewed.id
    clerk, headers = logged_in(app, "clara")
    seg = segments(app)[0]
    assert clerk.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Исправлено."},
                       headers=headers).status_code == 200
    html = clerk.get("/clerk").get_data(as_text=True)
    assert sittings_of(html, "live") == [str(ids["live"])]
    assert sittings_of(html, "review") == [str(ids["sitting"])]
    assert sittings_of(html, "publish") == [str(reviewed_id)]
    row = re.search(rf'<tr id="dash-{ids["sitting"]}">.*?</tr>', html, re.S).group(0)
    assert "clara" in row  # who last edited
    assert 'class="age"' in row and "<time" in row
    assert f'href="/s/{ids["sitting"]}/edit"' in row and f'href="/s/{ids["sitting"]}/history"' in row
    live_row = re.search(rf'<tr id="dash-{ids["live"]}">.*?</tr>', html, re.S).group(0)
    assert "/edit" not in live_row  # the live draft is read-only


def test_dashboard_needs_a_login(app):
    resp = app.test_client().get("/clerk")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=/clerk")


def test_sitting_page_links_for_clerks_only_and_private(app):
    sid = app.config["ids"]["sitting"]
    anon = app.test_client().get(f"/s/{sid}")
    body = anon.get_data(as_text=True)
    assert "Set-Cookie" not in anon.headers and "private" not in anon.headers.get("Cache-Control", "")
    assert f"/s/{sid}/edit" not in body and f"/s/{sid}/history" not in body
    assert f'href="/login?next=/s/{sid}"' in body  # the login link comes back here
    clerk, _ = logged_in(app, "clara")
    resp = clerk.get(f"/s/{sid}")
    body = resp.get_data(as_text=True)
    assert "private" in resp.headers["Cache-Control"]
    assert f'href="/s/{sid}/edit"' in body and f'href="/s/{sid}/history"' in body
    live = clerk.get(f"/live/{app.config['ids']['live']}").get_data(as_text=True)
    assert f"/s/{app.config['ids']['live']}/history" in live and f"/s/{app.config['ids']['live']}/edit" not in live


def test_login_next_never_leaves_the_site(app):
    for target in ("//evil.example/x", "/\\evil.example", "/\\/evil.example", "https://evil.example",
                   "/\t/evil.example", "evil.example", "javascript:alert(1)"):
        client = app.test_client()
        resp = client.post("/login", query_string={"next": target}, data={
            "username": "clara", "password": PASSWORD, "csrf_token": csrf(client)})
        assert resp.status_code == 302 and resp.headers["Location"] == "/", target


def test_login_next_returns_to_the_page(app):
    client = app.test_client()
    sid = app.config["ids"]["sitting"]
    resp = client.post("/login", query_string={"next": f"/s/{sid}?t=4"},
                       data={"username": "clara", "password": PASSWORD, "csrf_token": csrf(client)})
    assert resp.headers["Location"] == f"/s/{sid}?t=4"


def test_a_clerks_save_drops_the_uncertain_language_flag(app):
    rt = app.extensions["sanarip"]
    seg = segments(app)[1]
    with rt.db.session() as s:
        s.execute(update(TranscriptSegment).where(TranscriptSegment.id == seg.id).values(unreliable=True))
    sid = app.config["ids"]["sitting"]
    assert f'id="seg-{seg.id}"' in app.test_client().get(f"/s/{sid}").get_data(as_text=True)
    assert re.search(rf'class="seg unreliable" id="seg-{seg.id}"', app.test_client().get(f"/s/{sid}").get_data(
        as_text=True))
    clerk, headers = logged_in(app, "clara")
    resp = clerk.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": seg.text + " да."},
                       headers=headers)
    assert resp.status_code == 200 and resp.get_json()["unreliable"] is False
    assert not re.search(rf'class="seg unreliable" id="seg-{seg.id}"', app.test_client().get(f"/s/{sid}").get_data(
        as_text=True))


def test_changes_since_the_last_publication(app):
    sid = app.config["ids"]["sitting"]
    editor, headers = logged_in(app, "eddie")
    first = editor.get(f"/s/{sid}/edit/changes").get_data(as_text=True)
    assert 'id="change-count">4<' in first  # nothing published yet: every line
    assert editor.post(f"/api/v1/sittings/{sid}/publish", headers=headers).status_code == 200
    assert 'id="change-count">0<' in editor.get(f"/s/{sid}/edit/changes").get_data(as_text=True)
    seg = segments(app)[0]
    editor.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Заседание открыто."},
                 headers=headers)
    html = editor.get(f"/s/{sid}/edit/changes").get_data(as_text=True)
    assert 'id="change-count">1<' in html
    assert "<del>комитета по бюджету</del>" in html and "открыто." in html
    assert app.test_client().get(f"/s/{sid}/edit/changes").status_code == 302  # clerks only
