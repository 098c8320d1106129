"""Alerts end to end against a real SMTP server (aiosmtpd on 127.0.0.1): subscribe (API and the
pages' form, stateless CSRF), double opt-in, matching after text becomes public, delivery with
list headers and stable Message-IDs, digests, languages, escaping, rate limits, retries."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
import pytest
from sqlalchemy import func, select, update

from sanarip.config import load_settings
from sanarip.jobs import JobStatus
from sanarip.models import (
    AlertDelivery,
    AlertSitting,
    Job,
    OutgoingMail,
    Person,
    Sitting,
    Subscription,
    TranscriptSegment,
    utcnow,
)
from sanarip.outbox import send_outbox
from sanarip.pipeline import AlertsPayload, IndexPayload, JobKind
from sanarip.subscriptions import Mode, confirm, key_of, parse_request, subscribe
from search import open_index
from search.alerts import match_sitting
from search.documents import sitting_documents
from search.fanout import compose, deliver
from search.matcher import SittingWords, load_matcher
from tests.seed import seed, words_for
from tests.services import SmtpSink, free_port
from web import create_app
from worker import Worker

BASE = "http://127.0.0.1:8080"
SAME_ORIGIN = {"Origin": BASE}


def make_app(settings_env, smtp_url: str, **extra: str):
    settings_env.update(SANARIP_SMTP_URL=smtp_url, SANARIP_BASE_URL=BASE, **extra)
    app = create_app(load_settings(settings_env))
    app.config["ids"] = seed(app.extensions["sanarip"])
    return app


@pytest.fixture
def app(settings_env, smtp_sink):
    return make_app(settings_env, smtp_sink.url)


def rt_of(app):
    return app.extensions["sanarip"]


def drain(app, ok: bool = True) -> None:
    """Run the alerts and mail jobs that are queued (as a worker would); ``ok``: none of them failed."""
    Worker(rt_of(app), kinds={JobKind.ALERTS, JobKind.MAIL}, poll=0.05).run(until_idle=True)
    if ok:
        with rt_of(app).db.session(readonly=True) as s:
            assert not list(s.scalars(select(Job.error).where(Job.error.is_not(None))))


def link(message, path: str) -> str:
    found = re.search(rf"{re.escape(BASE)}(/{path}/[\w-]+)", message.get_body(("plain",)).get_content())
    assert found, message.get_body(("plain",)).get_content()
    return found.group(1)


def subscribe_confirmed(client, app, sink, body: dict):
    """Subscribe through the API, open the confirmation link from the delivered e-mail, confirm."""
    before = len(sink.messages)
    resp = client.post("/api/v1/subscriptions", json=body)
    assert resp.status_code == 202, resp.get_json()
    assert "Set-Cookie" not in resp.headers
    drain(app)
    assert len(sink.messages) == before + 1
    confirmation = sink.messages[-1]
    url = link(confirmation, "subscriptions/confirm")
    page = client.get(url)
    assert page.status_code == 200 and b"<form" in page.data
    assert client.post(url).status_code == 200
    return confirmation


def add_segment(app, sitting: int, start: float, text: str, speaker: int | None = None, source: str = "final") -> int:
    with rt_of(app).db.session() as s:
        row = TranscriptSegment(sitting_id=sitting, start=start, end=start + 3, text=text,
                                words=words_for(text, start, start + 3), language="ru", source=source,
                                speaker_id=speaker)
        s.add(row)
        s.flush()
        return row.id


def test_subscribe_confirm_alert_and_unsubscribe(app, smtp_sink):
    client, ids, rt = app.test_client(), app.config["ids"], rt_of(app)
    confirmation = subscribe_confirmed(client, app, smtp_sink, {"email": "Voter@Example.ORG", "query": "бюджет",
                                                                "language": "ru"})
    assert confirmation["To"] == "Voter@example.org"
    assert "List-Unsubscribe" not in confirmation  # not an alert yet
    assert confirmation["Subject"] == "Подтвердите подписку Sanarip"

    rt.queue.submit(AlertsPayload(ids["sitting"]))  # what follows the index job after the final pass
    drain(app)
    alert = smtp_sink.messages[-1]
    assert len(smtp_sink.messages) == 2
    assert smtp_sink.envelopes[-1][1] == ["Voter@example.org"]
    unsubscribe = link(alert, "subscriptions/unsubscribe")
    assert alert["List-Unsubscribe"] == f"<{BASE}{unsubscribe}>"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with rt.db.session(readonly=True) as s:
        stored = s.scalar(select(OutgoingMail.message_id).where(OutgoingMail.purpose == "alert"))
    assert alert["Message-ID"] == f"<{stored}>"
    text = alert.get_body(("plain",)).get_content()
    html = alert.get_body(("html",)).get_content()
    assert "Депутаты обсуждают бюджет на следующий год." in text and "<mark>бюджет</mark>" in html
    assert "Заседание комитета по бюджету открыто." in text  # both matching segments, one message
    seconds = re.findall(rf"{re.escape(BASE)}/s/{ids['sitting']}\?t=([\d.]+)", text)
    assert sorted(float(t) for t in seconds) == [0.0, 4.0]
    assert client.get(f"/s/{ids['sitting']}?t={seconds[0]}").status_code == 200

    # A re-run (a publication, a clerk's re-index) sends nothing twice.
    rt.queue.submit(AlertsPayload(ids["sitting"]))
    drain(app)
    assert len(smtp_sink.messages) == 2

    # One-click unsubscribe (RFC 8058): the address and everything pending go; nothing after it.
    assert client.get(unsubscribe).status_code == 200
    resp = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    with rt.db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 0
        assert s.scalar(select(func.count()).select_from(AlertDelivery)) == 0
        assert s.scalar(select(func.count()).select_from(OutgoingMail)) == 0
    assert client.post(unsubscribe).status_code == 200  # repeating it is harmless
    assert client.get(unsubscribe).status_code == 404
    add_segment(app, ids["sitting"], 40.0, "Снова о бюджете.")
    rt.queue.submit(AlertsPayload(ids["sitting"]))
    drain(app)
    assert len(smtp_sink.messages) == 2


def test_kyrgyz_alert_is_translated_and_escaped(app, smtp_sink):
    client, ids = app.test_client(), app.config["ids"]
    confirmation = subscribe_confirmed(client, app, smtp_sink, {"email": "k@example.org", "query": "символы",
                                                                "language": "ky"})
    assert confirmation["Subject"] == "Sanarip жазылууңузду ырастаңыз"
    rt_of(app).queue.submit(AlertsPayload(ids["sitting"]))
    drain(app)
    alert = smtp_sink.messages[-1]
    html = alert.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html
    assert "<script>alert('xss')</script>" in alert.get_body(("plain",)).get_content()  # plain text is text
    assert "Бир басуу менен жазылуудан чыгуу:" in alert.get_body(("plain",)).get_content()


def test_deputy_digest_groups_a_days_matches_into_one_message(app, smtp_sink):
    client, ids, rt = app.test_client(), app.config["ids"], rt_of(app)
    subscribe_confirmed(client, app, smtp_sink, {"email": "d@example.org", "person_id": ids["person"],
                                                 "mode": "daily", "language": "en"})
    rt.queue.submit(AlertsPayload(ids["sitting"]))
    add_segment(app, ids["live"], 10.0, "Айгуль Асанова снова берёт слово.", speaker=ids["person"])
    rt.queue.submit(AlertsPayload(ids["live"]))
    drain(app)
    assert len(smtp_sink.messages) == 1  # nothing yet: the digest waits for its hour
    assert deliver(rt) == (0, 0)  # an immediate pass leaves daily subscriptions alone
    with rt.db.session(readonly=True) as s:
        digest = s.scalar(select(Job).where(Job.kind == JobKind.MAIL, Job.status == JobStatus.QUEUED))
        local = digest.run_after.astimezone(rt.settings.tz)
        assert (local.hour, local.minute) == (rt.settings.alert_digest_hour, 0) and digest.run_after > utcnow()
    assert deliver(rt, digest=True) == (1, 1)
    message = smtp_sink.messages[-1]
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Sanarip: New passages today for the deputy Айгуль Асанова (3)"
    assert text.count(f"{BASE}/s/") == 3 and f"/s/{ids['live']}?t=10.0" in text
    assert deliver(rt, digest=True) == (0, 0)


def test_server_down_then_up_loses_nothing_and_repeats_no_match(settings_env):
    port = free_port()  # nothing listens here yet
    app = make_app(settings_env, f"smtp://127.0.0.1:{port}")
    rt, ids = rt_of(app), app.config["ids"]
    with rt.db.session() as s:
        sub, token = subscribe(s, parse_request({"email": "r@example.org", "query": "бюджет OR budget"}))
        confirm(s, token, timedelta(hours=1))
    rt.queue.submit(AlertsPayload(ids["sitting"]))
    drain(app, ok=False)  # the mail job fails: connection refused, retried later with back-off
    with rt.db.session(readonly=True) as s:
        job = s.scalar(select(Job).where(Job.kind == JobKind.MAIL))
        assert job.status == JobStatus.QUEUED and job.attempts == 1 and job.run_after > utcnow()
        assert "ConnectionRefusedError" in job.error
        mail = s.scalar(select(OutgoingMail))
        assert mail.sent_at is None and mail.attempts == 1
        first_id = mail.message_id
    add_segment(app, ids["sitting"], 30.0, "Ещё о бюджете.")
    match_sitting(rt, ids["sitting"])  # again, with one new segment, while the server is down
    with pytest.raises(ConnectionRefusedError):
        deliver(rt)
    sink = SmtpSink(port).start()
    try:
        assert deliver(rt) == (0, 2)
        assert [m["Message-ID"] for m in sink.messages][0] == f"<{first_id}>"
        bodies = [m.get_body(("plain",)).get_content() for m in sink.messages]
        assert sum(b.count(f"/s/{ids['sitting']}?t=") for b in bodies) == 4  # 3 segments, then the new one
        assert all(b.count("?t=30.0") <= 1 for b in bodies) and sum(b.count("?t=30.0") for b in bodies) == 1
        # A crash after the server accepted but before "sent" was stored: the retry is the same message.
        with rt.db.session() as s:
            s.execute(update(OutgoingMail).where(OutgoingMail.message_id == first_id).values(sent_at=None))
        assert send_outbox(rt) == 1
        assert sink.messages[-1]["Message-ID"] == sink.messages[0]["Message-ID"]
        assert sink.messages[-1].get_body(("plain",)).get_content() == bodies[0]
    finally:
        sink.stop()


def test_live_matches_only_for_those_who_ask_and_the_final_pass_repeats_none(app, smtp_sink):
    client, ids, rt = app.test_client(), app.config["ids"], rt_of(app)
    subscribe_confirmed(client, app, smtp_sink, {"email": "live@example.org", "query": "налог", "draft": True})
    subscribe_confirmed(client, app, smtp_sink, {"email": "final@example.org", "query": "налог"})
    live_row = add_segment(app, ids["live"], 20.0, "Говорим про налог.", source="live")
    rt.indexer.segments_added(ids["live"], [live_row])  # what the live draft does per committed line
    drain(app)
    assert [m["To"] for m in smtp_sink.messages[2:]] == ["live@example.org"]
    with rt.db.session() as s:  # the final pass replaces the draft with its own rows, at nearly the same time
        s.delete(s.get(TranscriptSegment, live_row))
    add_segment(app, ids["live"], 20.4, "Говорим про налоги.")
    rt.queue.submit(AlertsPayload(ids["live"]))
    drain(app)
    assert [m["To"] for m in smtp_sink.messages[2:]] == ["live@example.org", "final@example.org"]


def test_the_form_is_anonymous_with_a_stateless_csrf_check(app):
    client, ids = app.test_client(), app.config["ids"]
    for url in ("/search?q=бюджет", f"/p/{ids['person']}", "/c/budget"):
        page = client.get(url)
        assert page.status_code == 200 and b'action="/subscriptions"' in page.data, url
        assert "Set-Cookie" not in page.headers and b"csrf_token" not in page.data
    form = {"email": "f@example.org", "query": "бюджет", "filter_committee": "budget", "mode": "daily"}
    assert client.post("/subscriptions", data=form).status_code == 403  # says nothing of where it comes from
    assert client.post("/subscriptions", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/subscriptions", data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    with rt_of(app).db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 0
    resp = client.post("/subscriptions", data=form, headers=SAME_ORIGIN)
    assert resp.status_code == 202 and "Set-Cookie" not in resp.headers
    assert client.post("/subscriptions", data={**form, "person_id": str(ids["person"]), "query": ""},
                       headers={"Sec-Fetch-Site": "same-origin"}).status_code == 202
    with rt_of(app).db.session(readonly=True) as s:
        sub = s.scalar(select(Subscription).where(Subscription.kind == "search"))
        assert (sub.filters, sub.mode, sub.confirmed_at) == ({"committee": "budget"}, "daily", None)
    # The JSON API refuses a browser page elsewhere, and a non-JSON body.
    body = {"email": "x@example.org", "committee": "budget"}
    evil = {"Origin": "https://evil.example"}
    assert client.post("/api/v1/subscriptions", json=body, headers=evil).status_code == 403
    assert client.post("/api/v1/subscriptions", data=body).status_code == 415


@pytest.mark.parametrize("body, status", [
    ({"email": "not-an-address", "query": "бюджет"}, 400),
    ({"email": "a@example.org"}, 400),
    ({"email": "a@example.org", "query": "бюджет", "committee": "budget"}, 400),
    ({"email": "a@example.org", "query": '"unbalanced'}, 400),
    ({"email": "a@example.org", "query": "бюджет\x07"}, 400),
    ({"email": "a@example.org", "query": "бюджет", "mode": "weekly"}, 400),
    ({"email": "a@example.org", "query": "бюджет", "language": "de"}, 400),
    ({"email": "a@example.org", "query": "бюджет", "filters": {"colour": "red"}}, 400),
    ({"email": "a@example.org", "person_id": "7"}, 400),
    ({"email": "a@example.org", "person_id": 99999}, 404),
    ({"email": "a@example.org", "committee": "nope"}, 404),
    ({"email": "a@example.org\r\nBcc: b@example.org", "query": "бюджет"}, 400),
    ({"email": "a@example.org", "query": "бюджет", "extra": 1}, 400),
])
def test_bad_input_is_refused_and_stores_nothing(app, body, status):
    resp = app.test_client().post("/api/v1/subscriptions", json=body)
    assert resp.status_code == status and resp.get_json()["error"]
    with rt_of(app).db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 0
        assert s.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_rate_limits_per_client_address_and_per_recipient(settings_env, smtp_sink):
    app = make_app(settings_env, smtp_sink.url, SANARIP_SUBSCRIBE_RATE_LIMIT="7")
    client = app.test_client()
    for i in range(5):
        assert client.post("/api/v1/subscriptions", json={"email": "same@example.org", "query": f"слово{i}"}
                           ).status_code == 202
    resp = client.post("/api/v1/subscriptions", json={"email": "same@example.org", "query": "ещё"})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 3600  # per recipient, for the day
    assert client.post("/api/v1/subscriptions", json={"email": "other@example.org", "query": "x"}).status_code == 202
    resp = client.post("/api/v1/subscriptions", json={"email": "third@example.org", "query": "x"})
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 3600  # per address, for the hour
    with rt_of(app).db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 6


def test_confirmation_links_expire_and_work_once(app, smtp_sink):
    client, rt = app.test_client(), rt_of(app)
    assert client.post("/api/v1/subscriptions", json={"email": "e@example.org", "committee": "budget"}
                       ).status_code == 202
    drain(app)
    url = link(smtp_sink.messages[-1], "subscriptions/confirm")
    with rt.db.session() as s:
        s.execute(update(Subscription).values(created_at=utcnow() - timedelta(hours=49)))
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    with rt.db.session() as s:
        s.execute(update(Subscription).values(created_at=utcnow()))
    assert client.post(url).status_code == 200
    assert client.post(url).status_code == 404  # used
    assert client.get("/subscriptions/confirm/" + "x" * 500).status_code == 404


def test_admins_read_subscriptions_the_public_cannot(app):
    client = app.test_client()
    assert client.get("/api/v1/subscriptions").status_code == 401


def test_saved_searches_match_what_the_search_finds(sqlite_runtime):
    rt = sqlite_runtime
    ids = seed(rt)
    queries = ["бюджет", "бюдж*", '"обсуждают бюджет"', "бюджет -депутаты", "budget OR бюджет", "committee",
               "символы", "заседание открыто", "-бюджет комитет"]
    with rt.db.session() as s:
        for i, q in enumerate(queries):
            sub, token = subscribe(s, parse_request({"email": f"m{i}@example.org", "query": q}))
            confirm(s, token, timedelta(hours=1))
        matcher = load_matcher(s)
        docs = sitting_documents(s, s.get(Sitting, ids["sitting"]))
        keys = [key_of(sub) for sub in s.scalars(select(Subscription).order_by(Subscription.id))]
    matched = matcher.hits(SittingWords(docs))
    index = open_index(rt.settings)
    try:
        for key, q in zip(keys, queries, strict=True):
            found = {docs[i].segment for i in matched.get(key, [])}
            hits = {h.segment for h in index.search(q).hits if h.sitting == ids["sitting"]}
            assert found == hits, q
            assert (key in matcher.matched(SittingWords(docs, complete=False))) is bool(found), q  # what is stored
    finally:
        index.close()
    with rt.db.session(readonly=True) as s:
        assert s.get(Person, ids["person"]) is not None


def test_a_saved_search_within_an_agenda_item_matches_what_the_search_finds(sqlite_runtime):
    """The search page's agenda filter, saved with a search (the follow form copies it): same moments."""
    from sanarip.agenda import replace_agenda
    from search import Filters
    from search.indexing import SearchIndexer

    rt = sqlite_runtime
    ids = seed(rt)
    with rt.db.session() as s:
        replace_agenda(s, ids["sitting"], [{"identifier": "Bill 1", "title": "Opening", "start": 0},
                                           {"identifier": "Bill 2", "title": "The report", "start": 9.0}],
                       rt.settings.tz)
    indexer = SearchIndexer(rt)
    indexer.sync_sitting(ids["sitting"])
    indexer.close()
    saved = [("бюджет", "Bill 1"), ("бюджет", "Bill 2"), ("budget OR бюджет", "Bill 2")]
    with rt.db.session() as s:
        for i, (q, item) in enumerate(saved):
            _, token = subscribe(s, parse_request({"email": f"a{i}@example.org", "query": q,
                                                   "filters": {"agenda": item}}))
            confirm(s, token, timedelta(hours=1))
        matcher = load_matcher(s)
        docs = sitting_documents(s, s.get(Sitting, ids["sitting"]))
        keys = [key_of(sub) for sub in s.scalars(select(Subscription).order_by(Subscription.id))]
    matched = matcher.hits(SittingWords(docs))
    index = open_index(rt.settings)
    try:
        found = [{docs[i].segment for i in matched.get(key, [])} for key in keys]
        hits = [{h.segment for h in index.search(q, Filters(agenda=item)).hits} for q, item in saved]
    finally:
        index.close()
    assert found == hits
    assert len(found[0]) == 2 and found[1] == set() and len(found[2]) == 1


def test_deputy_and_committee_atom_feeds(app):
    client, ids = app.test_client(), app.config["ids"]
    person = feedparser.parse(client.get(f"/p/{ids['person']}.atom").data)
    assert not person.bozo and [e.link for e in person.entries] == [
        f"{BASE}/s/{ids['sitting']}?t=0.0", f"{BASE}/s/{ids['sitting']}?t=4.0"]
    committee = feedparser.parse(client.get("/c/budget.atom").data)
    assert not committee.bozo and [e.link for e in committee.entries] == [f"{BASE}/s/{ids['sitting']}"]
    assert client.get("/c/nope.atom").status_code == 404 and client.get("/p/99999.atom").status_code == 404


def test_a_committee_follower_hears_of_a_sitting_once_and_a_deputys_of_each_passage(sqlite_runtime):
    rt = sqlite_runtime
    ids = seed(rt)
    with rt.db.session() as s:
        for body in ({"committee": "budget"}, {"person_id": ids["person"]}, {"committee": "health"}):
            sub, token = subscribe(s, parse_request({"email": "c@example.org", **body}))
            confirm(s, token, timedelta(hours=1))
    assert match_sitting(rt, ids["sitting"])["matches"] == 2  # the budget committee and the deputy
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertSitting)) == 1  # one row for the sitting
        assert compose(s, rt.settings, digest=False) == 2
        mails = s.execute(select(Subscription.kind, OutgoingMail.text).join(Subscription)
                          .where(OutgoingMail.purpose == "alert").order_by(Subscription.id)).all()
    assert [(kind, text.count(f"/s/{ids['sitting']}?t=")) for kind, text in mails] == [("committee", 1),
                                                                                       ("person", 2)]
    assert "?t=0.0" in mails[0][1] and "?t=0.0" in mails[1][1] and "?t=4.0" in mails[1][1]
    assert match_sitting(rt, ids["sitting"])["matches"] == 2  # the same again: nothing new to send
    with rt.db.session() as s:
        assert compose(s, rt.settings, digest=False) == 0


def test_the_index_job_matches_alerts_in_its_own_pass(app, smtp_sink):
    """No alerts job follows an index job: it matched the sitting on the text it indexed, and queued mail."""
    client, ids, rt = app.test_client(), app.config["ids"], rt_of(app)
    subscribe_confirmed(client, app, smtp_sink, {"email": "i@example.org", "query": "бюджет"})
    rt.queue.submit(IndexPayload(ids["sitting"]))
    Worker(rt, kinds={JobKind.INDEX, JobKind.MAIL}, poll=0.05).run(until_idle=True)
    with rt.db.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == JobKind.ALERTS)) == 0
        assert not list(s.scalars(select(Job.error).where(Job.error.is_not(None))))
    assert len(smtp_sink.messages) == 2 and smtp_sink.messages[-1]["To"] == "i@example.org"
    assert smtp_sink.messages[-1].get_body(("plain",)).get_content().count(f"/s/{ids['sitting']}?t=") == 2


@pytest.mark.parametrize("text, query, matched", [
    ("Бюджеттик комиссия бюджет жөнүндө", "бюджет*", True),
    ("Бюджет на следующий год и бюджетный кодекс", '"бюджет на" кодекс', True),
    ("Бюджет на следующий год", "бюджет -сле*", False),  # an excluded prefix no clause files
    ("Бюджет на следующий год", "год бюдж*", True),  # the prefix is in the clause not filed
    ("Кодекс, кодекс и бюджет", "кодекс OR налог", True),
    ("Налоговый кодекс", '"кодекс налог"', False),
])
def test_a_segment_is_checked_as_the_search_checks_it(text, query, matched):
    """The sitting-wide matcher's verdict on one segment (its snippets are the search's own, made when mailed)."""
    from search.base import Document
    from search.matcher import Followed, Matcher
    from search.query import parse

    matcher = Matcher()
    matcher.add(Followed("s1", parse(query)), Mode.IMMEDIATE, False)
    doc = Document(1, 1, "budget", "2026-12-01", None, None, "ru", 0.0, 5.0, text, True)
    assert bool(matcher.hits(SittingWords([doc]))) is matched
    assert bool(matcher.matched(SittingWords([doc], complete=False))) is matched


def test_a_daily_digest_is_one_message_per_address_with_a_section_per_subscription(app, smtp_sink):
    client, ids, rt = app.test_client(), app.config["ids"], rt_of(app)
    for body in ({"person_id": ids["person"]}, {"query": "бюджет"}):
        subscribe_confirmed(client, app, smtp_sink, {"email": "two@example.org", "mode": "daily", "language": "en",
                                                     **body})
    subscribe_confirmed(client, app, smtp_sink, {"email": "other@example.org", "query": "бюджет", "mode": "daily"})
    rt.queue.submit(AlertsPayload(ids["sitting"]))
    drain(app)
    assert deliver(rt, digest=True) == (2, 2)
    mine = [m for m in smtp_sink.messages[3:] if m["To"] == "two@example.org"]
    assert len(mine) == 1
    text = mine[0].get_body(("plain",)).get_content()
    assert mine[0]["Subject"] == "Sanarip: Your alerts today (4)"  # the deputy's two lines, the search's two
    assert "New passages today for the deputy Айгуль Асанова" in text
    assert "New passages today for the search «бюджет»" in text
    links = re.findall(rf"{re.escape(BASE)}(/subscriptions/unsubscribe/[\w-]+)", text)
    assert len(links) == 2 and mine[0]["List-Unsubscribe"] == f"<{BASE}{links[0]}>"  # the first section's
    assert client.post(links[1]).status_code == 200  # one section's own link ends that subscription only
    with rt.db.session(readonly=True) as s:
        left = select(func.count()).select_from(Subscription).where(Subscription.email == "two@example.org")
        assert s.scalar(left) == 1


@pytest.mark.parametrize("leaving", [0, 1])
def test_unsubscribing_from_one_section_of_an_unsent_digest_sends_the_others(app, smtp_sink, leaving):
    client, ids, rt = app.test_client(), app.config["ids"], rt_of(app)
    for body in ({"person_id": ids["person"]}, {"query": "бюджет"}):
        subscribe_confirmed(client, app, smtp_sink, {"email": "two@example.org", "mode": "daily", "language": "en",
                                                     **body})
    rt.queue.submit(AlertsPayload(ids["sitting"]))
    drain(app)
    with rt.db.session() as s:
        assert compose(s, rt.settings, digest=True) == 1  # composed, not yet sent
    with rt.db.session(readonly=True) as s:
        text = s.scalar(select(OutgoingMail.text).where(OutgoingMail.purpose == "alert"))
    links = re.findall(rf"{re.escape(BASE)}(/subscriptions/unsubscribe/[\w-]+)", text)
    assert len(links) == 2
    assert client.post(links[leaving]).status_code == 200
    assert send_outbox(rt) == 1
    message = smtp_sink.messages[-1]
    text = message.get_body(("plain",)).get_content()
    names = ["the deputy Айгуль Асанова", "the search «бюджет»"]  # the sections, in order
    gone, kept = names[leaving], names[1 - leaving]
    assert message["To"] == "two@example.org" and message["Subject"] == f"Sanarip: New passages today for {kept} (2)"
    assert gone not in text and text.count(f"{BASE}/s/") == 2
    assert message["List-Unsubscribe"] == f"<{BASE}{links[1 - leaving]}>"
    assert send_outbox(rt) == 0


def test_the_stem_memo_starts_again_rather_than_grow():
    from search.matcher import StemMemo

    memo = StemMemo(lambda stem: frozenset([stem.upper()]) if stem.startswith("a") else frozenset())
    memo.LIMIT = 3
    assert sorted(memo.through({"ab", "ac", "b"})) == ["AB", "AC"]
    assert sorted(memo.through({"ad", "ae"})) == ["AD", "AE"]  # past the limit: emptied, then filled
    assert set(memo) == {"ad", "ae"} and sorted(memo.through({"ab", "ad"})) == ["AB", "AD"]
