"""The site under attack (issue 18, part A): headers, cookies, and input and output hygiene,
through Flask's test client on a real SQLite database and FTS5 index."""

import csv
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from sanarip.accounts import add_user, create_token
from sanarip.catalog import add_committee, add_person
from sanarip.config import load_settings
from sanarip.errors import SanaripError
from sanarip.models import Publication, TranscriptSegment
from tests.seed import seed
from web import create_app

PASSWORD = "correct horse battery"
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"


@pytest.fixture
def app(settings_env):
    settings_env["SANARIP_BASE_URL"] = "https://sanarip.example.kg"
    app = create_app(load_settings(settings_env))
    rt = app.extensions["sanarip"]
    app.config["ids"] = seed(rt)
    with rt.db.session() as s:
        add_user(s, "eddie", PASSWORD, "editor")
        app.config["token"] = create_token(s, "eddie")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def bearer(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.config['token']}"}


def first_segment(app) -> TranscriptSegment:
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        row = s.scalar(select(TranscriptSegment).where(TranscriptSegment.sitting_id == app.config["ids"]["sitting"])
                       .order_by(TranscriptSegment.start))
        s.expunge(row)
        return row


def store_text(app, text: str) -> None:
    """Put ``text`` into the first segment as a worker would (no input check), and index it."""
    rt = app.extensions["sanarip"]
    with rt.db.session() as s:
        row = s.get(TranscriptSegment, first_segment(app).id)
        row.text = text
    rt.indexer.sitting_changed(app.config["ids"]["sitting"])


# --- headers ---------------------------------------------------------------------------------
def test_pages_carry_a_policy_that_allows_scripts_from_this_site_only(client, app):
    resp = client.get(f"/s/{app.config['ids']['sitting']}")
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert "blob:" in csp["media-src"] and "blob:" in csp["worker-src"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")  # the base URL is https
    for url in ("/api/v1/committees", "/nope", "/api/v1/sittings/999"):  # data and errors too
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], url
        assert headers["X-Content-Type-Options"] == "nosniff", url


def test_no_hsts_over_plain_http(settings_env):
    client = create_app(load_settings(settings_env)).test_client()
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_s3_media_origin_is_allowed_for_media_and_fetches(settings_env, s3_endpoint):
    settings_env.update(SANARIP_STORAGE="s3://media-bucket/sittings", SANARIP_S3_ENDPOINT=s3_endpoint)
    csp = create_app(load_settings(settings_env)).test_client().get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert s3_endpoint in directives["media-src"] and s3_endpoint in directives["connect-src"]


def test_no_template_has_an_inline_script():
    for path in TEMPLATES.glob("*.html"):
        for tag in re.findall(r"<script[^>]*>", path.read_text(encoding="utf-8")):
            assert "src=" in tag, f"{path.name}: inline {tag} (move it into web/static)"
        assert not re.search(r"\son[a-z]+=", path.read_text(encoding="utf-8")), f"{path.name}: inline handler"


# --- cookies ---------------------------------------------------------------------------------
def test_anonymous_public_pages_set_no_cookie(client, app):
    ids = app.config["ids"]
    for url in ("/", f"/s/{ids['sitting']}", "/search?q=бюджет", "/c/budget", f"/p/{ids['person']}",
                f"/live/{ids['live']}", "/api/v1/sittings", "/nope"):
        resp = client.get(url)
        assert "Set-Cookie" not in resp.headers, url


def test_language_switch_is_a_link_that_sets_only_a_preference(client):
    html = client.get("/search").get_data(as_text=True)
    assert 'href="/lang/ru?next=/search"' in html
    resp = client.get("/lang/ru?next=/search")
    assert resp.status_code == 302 and resp.headers["Location"] == "/search"
    cookies = resp.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("lang=ru;") and "Secure" in cookies[0]
    assert client.get("/lang/ru?next=https://evil.example/").headers["Location"] == "/"  # no open redirect


def test_pages_for_a_logged_in_clerk_are_private(app):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "eddie", "password": PASSWORD, "csrf_token": token}
                       ).status_code == 302
    for url in ("/", f"/s/{app.config['ids']['sitting']}/edit", "/account"):
        assert "private" in client.get(url).headers.get("Cache-Control", ""), url
    assert "private" not in app.test_client().get("/").headers.get("Cache-Control", "")


# --- input hygiene ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["line\x00break", "esc\x1b[31m", "bell\x07", "c1\x9b"])
def test_control_characters_are_refused_in_text_and_names(client, app, bad):
    seg = first_segment(app)
    resp = client.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": bad}, headers=bearer(app))
    assert resp.status_code == 400 and "control character" in resp.get_json()["error"]
    resp = client.post("/api/v1/persons", json={"name": bad}, headers=bearer(app))
    assert resp.status_code == 400 and "control character" in resp.get_json()["error"]
    with app.extensions["sanarip"].db.session() as s:
        with pytest.raises(SanaripError, match="control character"):
            add_committee(s, "agri", bad)
        with pytest.raises(SanaripError, match="control character"):
            add_person(s, "Name", faction=bad)
    ok = client.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "tab\tis text"},
                      headers=bearer(app))
    assert ok.status_code == 200


@pytest.mark.parametrize("url", [
    "/s/99999999999999999999", "/s/1/v/99999999999999999999", "/p/99999999999999999999",
    "/api/v1/sittings/99999999999999999999", "/api/v1/persons/2147483648",
    "/api/v1/sittings/99999999999999999999/transcript", "/live/99999999999999999999/segments",
])
def test_huge_ids_in_urls_are_not_found(client, url):
    resp = client.get(url)
    assert resp.status_code == 404, (url, resp.status_code)


@pytest.mark.parametrize("url", ["/s/{sitting}?t=1e300", "/s/{sitting}/export.txt?v=99999999999999999999",
                                 "/api/v1/sittings/{sitting}/transcript?v=99999999999999999999",
                                 "/api/v1/search?q=x&official=maybe", "/api/v1/search?q=x&from=2026-W09-1"])
def test_out_of_range_query_values_are_400(client, app, url):
    resp = client.get(url.format(sitting=app.config["ids"]["sitting"]))
    assert resp.status_code == 400, (url, resp.status_code)


@pytest.mark.parametrize("body", [
    {"text": "ok", "version": 10**30}, {"version": 1, "start": 1e300}, {"version": 1, "end": 1e300},
    {"version": 1, "speaker": 10**30}, {"version": 1, "speaker": -1},
])
def test_out_of_range_numbers_in_an_edit_are_400(client, app, body):
    seg = first_segment(app)
    resp = client.patch(f"/api/v1/segments/{seg.id}", json=body, headers=bearer(app))
    assert resp.status_code == 400, resp.get_json()


@pytest.mark.parametrize("body", [{"offset": 10**30}, {"offset": -3}, {"offset": 0}, {"offset": 5, "colour": 1}])
def test_split_offsets_are_range_checked(client, app, body):
    seg = first_segment(app)
    resp = client.post(f"/api/v1/segments/{seg.id}/split", json={"version": seg.version, **body}, headers=bearer(app))
    assert resp.status_code == 400, resp.get_json()


def test_deep_json_and_lone_surrogates_are_400(client, app):
    seg = first_segment(app)
    version = f'{{"version": {seg.version}, '
    for body in ("[" * 30_000 + "]" * 30_000, version + '"text": "\\ud800 x"}', version + '"\\udc00": 1}'):
        resp = client.patch(f"/api/v1/segments/{seg.id}", data=body, headers={**bearer(app),
                                                                                "Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.get_json()["status"] == 400, body[:40]


def test_unknown_methods_are_405_with_allow_even_anonymously(client):
    resp = client.delete("/api/v1/committees")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"] and resp.get_json()["status"] == 405


def test_publishing_without_a_change_makes_no_new_version(client, app):
    sid = app.config["ids"]["sitting"]
    first = client.post(f"/api/v1/sittings/{sid}/publish", headers=bearer(app)).get_json()
    again = client.post(f"/api/v1/sittings/{sid}/publish", headers=bearer(app)).get_json()
    assert first["number"] == again["number"] == 1
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Publication)) == 1
    seg = first_segment(app)
    client.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Changed."}, headers=bearer(app))
    assert client.post(f"/api/v1/sittings/{sid}/publish", headers=bearer(app)).get_json()["number"] == 2


# --- output hygiene --------------------------------------------------------------------------
def test_xml_exports_stay_well_formed_with_stored_control_characters(client, app):
    store_text(app, "бюджет\x00 with NUL\x1b[0m and ESC")
    sid = app.config["ids"]["sitting"]
    akn = client.get(f"/s/{sid}/export.xml")
    assert akn.status_code == 200
    root = ET.fromstring(akn.data)  # raises on ill-formed XML
    assert "with NUL[0m and ESC" in "".join(root.itertext())
    feed = client.get("/search.atom?q=бюджет")
    assert feed.status_code == 200
    ET.fromstring(feed.data)
    assert not feedparser.parse(feed.data).bozo


def test_csv_cells_that_would_run_as_formulas_are_text(client, app):
    store_text(app, '=HYPERLINK("https://evil.example","click")')
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/committees/budget/export.csv").get_data(as_text=True))))
    cell = next(r["text"] for r in rows if "HYPERLINK" in r["text"])
    assert cell.startswith("'=")
    assert all(not r["text"].startswith(("=", "+", "-", "@")) for r in rows)


def test_absolute_urls_come_from_the_base_url_not_the_host_header(client, app):
    sid = app.config["ids"]["sitting"]
    evil = {"Host": "evil.example"}
    links = client.get(f"/api/v1/sittings/{sid}", headers=evil).get_json()["links"]
    assert all(v.startswith("https://sanarip.example.kg/") for v in links.values()), links
    assert client.get("/api/v1/openapi.json", headers=evil).get_json()["servers"][0]["url"] == \
        "https://sanarip.example.kg/api/v1"
    feed = client.get("/search.atom?q=бюджет", headers=evil).get_data(as_text=True)
    assert "evil.example" not in feed and "https://sanarip.example.kg/" in feed
    assert "evil.example" not in client.get("/schedule.ics", headers=evil).get_data(as_text=True)
    nxt = client.get("/api/v1/persons?per_page=1&page=1", headers=evil)
    assert nxt.status_code == 200


@pytest.mark.parametrize("extra", ["_external=0", "_method=DELETE", "_scheme=javascript", "_anchor=x"])
def test_unknown_query_parameters_never_reach_url_for(client, extra):
    for url in (f"/search.atom?q=бюджет&{extra}", f"/api/v1/search?q=бюджет&{extra}", f"/search?q=бюджет&{extra}"):
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        assert "javascript:" not in resp.get_data(as_text=True)


def test_metrics_only_for_allowed_addresses_or_the_token(settings_env):
    settings_env["SANARIP_METRICS_TOKEN"] = "scrape-me"
    client = create_app(load_settings(settings_env)).test_client()
    assert client.get("/metrics").status_code == 200  # loopback, the default
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    resp = client.get("/metrics", environ_base=outside)
    assert resp.status_code == 403 and "sanarip_jobs" not in resp.get_data(as_text=True)
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200 and "sanarip_jobs" in ok.get_data(as_text=True)


def test_metrics_allow_is_validated(settings_env):
    settings_env["SANARIP_METRICS_ALLOW"] = "10.0.0.0/8, not-an-address"
    with pytest.raises(SanaripError, match="SANARIP_METRICS_ALLOW"):
        load_settings(settings_env)
