"""The web app through Flask's test client on a real SQLite database and FTS5 index."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sanarip.config import load_settings
from tests.seed import seed
from tests.services import end_process, free_port, wait_for_port
from tests.validators import check_hls, check_icalendar, check_srt, check_webvtt
from web import create_app

MEDIA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def app(settings_env):
    app = create_app(load_settings(settings_env))
    app.config["ids"] = seed(app.extensions["sanarip"], MEDIA)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_pages_render(client, app):
    ids = app.config["ids"]
    for url in ["/", f"/s/{ids['sitting']}", f"/s/{ids['sitting']}?t=12.5", "/search", "/search?q=бюджет",
                "/c/budget", f"/p/{ids['person']}", f"/live/{ids['live']}", "/login"]:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert b"Traceback" not in resp.data


def test_home_lists_live_upcoming_and_recent(client, app):
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    ids = app.config["ids"]
    assert "LIVE" in html and f"/live/{ids['live']}" in html
    assert "Next week" in html and "2099-01-01" in html
    assert f"/s/{ids['sitting']}" in html


def test_sitting_page_transcript_and_player(client, app):
    sid = app.config["ids"]["sitting"]
    html = client.get(f"/s/{sid}?t=9.5", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-start="9.5"' in html and f'data-src="/s/{sid}/playlist.m3u8"' in html
    assert "Automatic transcript, unverified" in html
    assert f"/s/{sid}/export.vtt" in html and "/static/vendor/hls.min.js" in html
    assert 'href="/p/' in html and "Айгуль Асанова" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    for fmt in ("vtt", "srt", "json", "txt", "xml"):
        assert f"export.{fmt}" in html


@pytest.mark.parametrize("url", ["/s/9999", "/s/1/export.doc", "/c/nope", "/p/9999", "/s/1/v/7", "/nope"])
def test_not_found_pages_are_helpful(client, url):
    resp = client.get(url)
    assert resp.status_code == 404
    assert b"Traceback" not in resp.data and b"error-message" in resp.data


@pytest.mark.parametrize("url", ["/s/1?t=abc", "/s/1?t=-3", "/s/1?t=nan", "/search?q=x&page=0",
                                 "/search?q=x&from=yesterday", "/search?q=x&sort=popular"])
def test_bad_parameters_are_400(client, url):
    resp = client.get(url)
    assert resp.status_code == 400 and b"error-message" in resp.data


def test_search_page_hits_seek_and_escape(client, app):
    sid = app.config["ids"]["sitting"]
    html = client.get("/search?q=депутаты").get_data(as_text=True)
    assert f'href="/s/{sid}?t=4.0"' in html and "<mark>Депутаты</mark>" in html
    html = client.get("/search?q=символы").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<mark>символы</mark>" in html
    html = client.get("/search?q=бюджет&committee=health").get_data(as_text=True)
    assert f'href="/s/{sid}' not in html
    facets = client.get("/search?q=бюджет").get_data(as_text=True)
    assert re.search(r'committee=budget[^"]*">budget</a> <span class="count">\d+', facets)


def test_rendered_results_follow_language_and_index_changes(client, app):
    from search import Document
    from web.deps import search_index

    url = "/search?q=бюджет"  # two moments: the count reads "moments" (plural) in English
    en = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    ru = client.get(url, headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "moments found" in en and "найдено моментов" in ru and "moments found" not in ru
    count = int(re.search(r'role="status">(\d+)', en).group(1))
    with app.app_context():
        search_index().add([Document(segment=99_999, sitting=app.config["ids"]["sitting"], committee="budget",
                                     day="2025-01-01", speaker=None, speaker_id=None, language="ru", start=600.0,
                                     end=604.0, text="Депутаты вернулись к бюджету.", official=False)])
    again = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert int(re.search(r'role="status">(\d+)', again).group(1)) == count + 1
    assert f"/s/{app.config['ids']['sitting']}?t=600.0" in again


def test_malformed_query_is_400_with_message(client):
    resp = client.get('/search?q="unclosed')
    assert resp.status_code == 400
    assert "unbalanced quote" in resp.get_data(as_text=True)


def test_exports(client, app):
    import json

    sid = app.config["ids"]["sitting"]
    vtt = client.get(f"/s/{sid}/export.vtt")
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt" and vtt.data.startswith(b"WEBVTT")
    data = json.loads(client.get(f"/s/{sid}/export.json").data)
    assert data["segments"][1]["words"][0]["word"] == "Депутаты"
    assert client.get(f"/s/{sid}/export.xml").data.startswith(b"<?xml")
    assert "attachment" in client.get(f"/s/{sid}/export.srt").headers["Content-Disposition"]
    check_webvtt(vtt.get_data(as_text=True))
    check_srt(client.get(f"/s/{sid}/export.srt").get_data(as_text=True))


def test_playlist_and_media_ranges(client, app):
    sid = app.config["ids"]["sitting"]
    pl = client.get(f"/s/{sid}/playlist.m3u8").get_data(as_text=True)
    assert "#EXT-X-ENDLIST" in pl and f"/media/sittings/{sid}/seg_00000.ts" in pl
    check_hls(pl, final=True, discontinuities=0)
    full = client.get(f"/media/sittings/{sid}/seg_00001.ts")
    assert full.status_code == 200 and full.data == MEDIA and full.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/media/sittings/{sid}/seg_00001.ts", headers={"Range": "bytes=100-355"})
    assert part.status_code == 206 and part.data == MEDIA[100:356]
    assert part.headers["Content-Range"] == f"bytes 100-355/{len(MEDIA)}"
    tail = client.get(f"/media/sittings/{sid}/seg_00001.ts", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == MEDIA[-10:]
    bad = client.get(f"/media/sittings/{sid}/seg_00001.ts", headers={"Range": "bytes=99999-"})
    assert bad.status_code == 416


@pytest.mark.parametrize("url", [
    "/media/../secret_key", "/media/sittings/../../secret_key", "/media/sittings/1/..%2f..%2fsecret_key",
    "/media/%2e%2e/%2e%2e/etc/passwd", "/media/sittings%2f..%2f..%2fsecret_key", "/media//etc/passwd",
    "/media/sanarip.db", "/media/sittings/1/seg_99999.ts",
])
def test_media_refuses_traversal(client, app, url):
    resp = client.get(url, follow_redirects=True)
    assert resp.status_code == 404
    assert MEDIA not in resp.data and app.config["SECRET_KEY"].encode() not in resp.data


def _conditional_media(client, url: str) -> None:
    """Range, ETag / If-None-Match, If-Modified-Since and If-Range as werkzeug answers them."""
    full = client.get(url)
    assert full.status_code == 200 and full.data == MEDIA and full.headers["Accept-Ranges"] == "bytes"
    assert "max-age=86400" in full.headers["Cache-Control"] and "public" in full.headers["Cache-Control"]
    etag = full.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    if "Last-Modified" in full.headers:
        assert client.get(url, headers={"If-Modified-Since": full.headers["Last-Modified"]}).status_code == 304
    part = client.get(url, headers={"Range": "bytes=100-355", "If-Range": etag})
    assert part.status_code == 206 and part.data == MEDIA[100:356]
    assert part.headers["Content-Range"] == f"bytes 100-355/{len(MEDIA)}" and part.headers["Content-Length"] == "256"
    stale = client.get(url, headers={"Range": "bytes=100-355", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == MEDIA
    assert client.get(url, headers={"Range": "bytes=-10"}).data == MEDIA[-10:]
    bad = client.get(url, headers={"Range": "bytes=99999-"})
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(MEDIA)}"
    assert client.head(url).headers["Content-Length"] == str(len(MEDIA))


def test_media_conditional_requests_from_local_files(client, app):
    _conditional_media(client, f"/media/sittings/{app.config['ids']['sitting']}/seg_00001.ts")


def test_media_conditional_requests_from_streaming_storage(client, app):
    """A storage with neither local paths nor browser URLs streams through make_conditional."""
    from sanarip.storage import LocalStorage, Storage

    local = app.extensions["sanarip"].storage

    class Streaming(Storage):
        """The same folder, seen only through the Storage interface (as a remote store would be)."""

        put_bytes, put_file, size = local.put_bytes, local.put_file, local.size
        read_range, list, delete, check = local.read_range, local.list, local.delete, local.check

        def media_url(self, key: str, expires: int = 3600) -> None:
            return None

    assert isinstance(local, LocalStorage)
    app.extensions["sanarip"].storage = Streaming()
    _conditional_media(client, f"/media/sittings/{app.config['ids']['sitting']}/seg_00001.ts")


def test_media_never_serves_working_files(client, app):
    """Audio chunks and final-pass checkpoints exist in storage but are not public media."""
    from sanarip.medialayout import audio_chunk_key, final_pass_key, segment_key

    sid = app.config["ids"]["live"]
    storage = app.extensions["sanarip"].storage
    private = [audio_chunk_key(sid, 0, 0.0), final_pass_key(sid, 0)]
    for key in [*private, segment_key(sid, 0)]:
        storage.put_bytes(key, MEDIA)
    assert client.get(f"/media/{segment_key(sid, 0)}").data == MEDIA  # the same sitting's public media is served
    for key in private:
        assert storage.get_bytes(key) == MEDIA
        resp = client.get(f"/media/{key}")
        assert resp.status_code == 404 and MEDIA not in resp.data


def test_api_lists_paginate_with_next(client, app):
    first = client.get("/api/v1/committees?per_page=1").get_json()
    assert len(first["items"]) == 1 and first["items"][0]["slug"] == "budget"
    second = client.get(first["next"]).get_json()
    assert second["items"][0]["slug"] == "health" and second["next"] is None
    resp = client.get("/api/v1/sittings?committee=budget")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert [s["id"] for s in resp.get_json()["items"]] == sorted(app.config["ids"][k]
                                                                  for k in ("sitting", "live", "upcoming"))
    assert client.get("/api/v1/sittings?committee=nope").status_code == 404
    assert client.get("/api/v1/sittings?page=x").get_json()["error"]


def test_api_objects(client, app):
    ids = app.config["ids"]
    sitting = client.get(f"/api/v1/sittings/{ids['sitting']}").get_json()
    assert sitting["committee"] == "budget" and sitting["links"]["transcript"].endswith("/transcript")
    transcript = client.get(f"/api/v1/sittings/{ids['sitting']}/transcript").get_json()
    assert transcript["sitting"]["status"] == "automatic" and transcript["segments"][0]["words"]
    hits = client.get("/api/v1/search?q=бюджет").get_json()
    assert hits["total"] >= 2 and hits["items"][0]["link"].startswith(f"/s/{ids['sitting']}?t=")
    assert client.get('/api/v1/search?q="x').status_code == 400
    person = client.get(f"/api/v1/persons/{ids['person']}").get_json()
    assert person["sittings"] == [{"sitting": ids["sitting"], "seconds": 9.5, "segments": 2}]
    assert client.get("/api/v1/persons").get_json()["items"][0]["name"] == "Айгуль Асанова"
    assert client.get("/api/v1/sittings/9999").status_code == 404


def test_bulk_exports(client):
    import csv
    import io
    import json

    lines = client.get("/api/v1/committees/budget/export.jsonl").get_data(as_text=True).splitlines()
    rows = [json.loads(x) for x in lines]
    assert len(rows) == 5 and {"sitting", "start", "text", "speaker", "official"} <= rows[0].keys()
    table = list(csv.DictReader(io.StringIO(client.get("/api/v1/committees/budget/export.csv").get_data(as_text=True))))
    assert len(table) == 5 and table[1]["text"].startswith("Депутаты")


def test_openapi_document_is_valid_and_complete(client, app):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    documented = {p for p in doc["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            assert path in documented, f"{rule.rule} missing from the OpenAPI document"


def test_health_and_metrics(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["checks"] == {
        "database": "ok", "storage": "ok", "search": "ok"}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'sanarip_sittings{status="live"} 1' in metrics
    assert "sanarip_transcription_lag_seconds" in metrics
    assert 'sanarip_http_requests_total{method="GET",status="200"}' in metrics  # the /healthz above


def test_live_segments_and_events(client, app):
    lid = app.config["ids"]["live"]
    data = client.get(f"/live/{lid}/segments?after=-1").get_json()
    assert data["status"] == "live" and data["segments"][0]["text"] == "Живой текст заседания."
    assert client.get(f"/live/{lid}/segments?after=5").get_json()["segments"] == []
    # The event stream is gone (issue 20): viewers read static files (playlists, live-state file).
    assert client.get(f"/live/{lid}/events").status_code == 404


def test_live_partial_line(client, app):
    """The words heard but not yet committed reach the page by polling and by the live-state file."""
    from sanarip.models import Sitting

    lid = app.config["ids"]["live"]
    assert client.get(f"/live/{lid}/segments").get_json()["partial"] is None
    with app.extensions["sanarip"].db.session() as s:
        s.get(Sitting, lid).live_partial = {"start": 6.5, "text": "<b>и ещё</b> слова", "language": "ru"}
    assert client.get(f"/live/{lid}/segments?after=5").get_json()["partial"]["text"] == "<b>и ещё</b> слова"
    # … and by the live-state file the page polls (it replaced the event stream).
    from sanarip import livestate

    livestate.write(app.extensions["sanarip"], lid)
    html = client.get(f"/live/{lid}").get_data(as_text=True)
    assert f'data-state="/media/sittings/{lid}/live.json"' in html
    doc = client.get(f"/media/sittings/{lid}/live.json").get_json()
    assert doc["partial"]["text"] == "<b>и ещё</b> слова" and doc["partial"]["start"] == 6.5


def test_feeds_parse(client):
    import feedparser
    import icalendar

    atom = feedparser.parse(client.get("/search.atom?q=бюджет").data)
    assert not atom.bozo and atom.entries and "/s/" in atom.entries[0].link and "?t=" in atom.entries[0].link
    cal = icalendar.Calendar.from_ical(client.get("/schedule.ics").data)
    check_icalendar(client.get("/schedule.ics").data)
    events = [e for e in cal.walk("VEVENT")]
    assert any(str(e["SUMMARY"]).endswith("Next week") for e in events)
    one = icalendar.Calendar.from_ical(client.get("/schedule.ics?committee=health").data)
    check_icalendar(client.get("/schedule.ics?committee=health").data)
    assert not list(one.walk("VEVENT"))


def test_atom_feed_is_well_formed_with_control_characters(client, app):
    """NUL, ESC and other characters XML forbids are dropped, from the text and from the query."""
    import xml.etree.ElementTree as ET

    import feedparser

    from search import Document
    from web.deps import search_index

    with app.app_context():
        search_index().add([Document(segment=99_998, sitting=app.config["ids"]["sitting"], committee="budget\x1b",
                                     day="2025-01-01", speaker="Бе\x00к", speaker_id=None, language="ru", start=7.0,
                                     end=9.0, text="Квазар\x00 ушёл\x1b[31m в эфир\x0b.", official=False)])
    body = client.get("/search.atom?q=квазар%00").data
    ET.fromstring(body)  # raises on an XML-illegal character
    atom = feedparser.parse(body)
    assert not atom.bozo and atom.feed.title == "Sanarip: квазар"
    (entry,) = atom.entries
    assert entry.title == "budget 2025-01-01 — Бек" and "?t=7.0" in entry.link
    assert entry.content[0].value == "Квазар ушёл[31m в эфир."  # feedparser's sanitizer drops <mark>
    assert "&lt;mark&gt;Квазар&lt;/mark&gt; ушёл[31m в эфир." in body.decode()


def test_serve_processes_share_the_port_and_outlive_a_dead_child(settings_env):
    """`serve --processes 2`: one socket per process; a killed child's socket closes with it."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port),
                               "--processes", "2"], env=settings_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=server)
        deadline = time.monotonic() + 20
        while True:  # the port listens before the children are forked
            children = [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
            if len(children) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(children) == 2

        def all_answer(n: int) -> bool:
            codes = []
            for _ in range(n):  # a fresh connection each time: the kernel picks a socket per connection
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                    codes.append(resp.status)
            return codes == [200] * n

        assert all_answer(40)
        second = subprocess.run([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port),
                                 "--processes", "2"], env=settings_env, capture_output=True, text=True, timeout=30)
        assert second.returncode == 1 and "cannot listen" in second.stderr  # never shares a port by accident
        os.kill(children[0], signal.SIGKILL)
        time.sleep(0.5)
        assert all_answer(40)
    finally:
        end_process(server)
    time.sleep(0.5)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def test_metrics_add_up_every_server_process(settings_env, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: whichever process is scraped counts the requests of all of them."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port), "--processes", "2"],
                              env={**settings_env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)},
                              cwd=Path(__file__).resolve().parent.parent,  # this checkout's code, installed or not
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=server)

        def get(_: int) -> int:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                return resp.status

        sent = 0
        with ThreadPoolExecutor(8) as pool:  # concurrent connections reach both worker processes
            while len(list(multiproc.glob("counter_*.db"))) < 2 and sent < 400:
                assert set(pool.map(get, range(20))) == {200}
                sent += 20
        assert len(list(multiproc.glob("counter_*.db"))) == 2  # one file per process that counted
        for scraped in range(2):  # whichever process answers, it counts every process's requests
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                body = resp.read().decode()
            assert f'sanarip_http_requests_total{{method="GET",status="200"}} {sent + scraped}.0' in body
            assert "# TYPE sanarip_jobs gauge" in body and "# TYPE sanarip_sittings gauge" in body
    finally:
        end_process(server)
