"""Clerks: accounts, CSRF, roles, tokens, edits with history, publication — on a real database."""

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sanarip.config import load_settings
from sanarip.editing import realign_words
from sanarip.models import AuditLog, Revision, TranscriptSegment
from sanarip.stenogram import Word
from tests.conftest import run_cli
from tests.seed import seed
from web import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(settings_env):
    app = create_app(load_settings(settings_env))
    app.config["ids"] = seed(app.extensions["sanarip"])
    for name, role in (("clara", "clerk"), ("eddie", "editor"), ("ada", "admin")):
        run_cli("user", "add", name, "--role", role, env=settings_env, input=PASSWORD + "\n")
    app.config["env"] = settings_env
    return app


def csrf(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def logged_in(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    token = csrf(client)
    return client, {"X-CSRF-Token": token, "Accept-Language": "en"}  # error messages in English


def segments(app):
    rt = app.extensions["sanarip"]
    with rt.db.session(readonly=True) as s:
        rows = list(s.scalars(select(TranscriptSegment).where(
            TranscriptSegment.sitting_id == app.config["ids"]["sitting"]).order_by(TranscriptSegment.start)))
        s.expunge_all()
        return rows


def test_login_logout_and_rate_limit(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "clara", "password": PASSWORD}).status_code == 400  # no CSRF
    assert login(client, "clara", "wrong password").status_code == 401
    ok = login(client, "clara")
    assert ok.status_code == 302
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/account").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert client.get("/account").status_code == 302
    other = app.test_client()
    for _ in range(5):
        assert login(other, "eddie", "nope nope nope").status_code == 401
    assert login(other, "eddie").status_code == 429  # even the right password waits


def test_public_pages_need_no_login_and_writes_do(app):
    client = app.test_client()
    seg = segments(app)[0]
    assert client.get(f"/s/{app.config['ids']['sitting']}").status_code == 200
    resp = client.patch(f"/api/v1/segments/{seg.id}", json={"version": 1, "text": "x"}, headers={
        "X-CSRF-Token": csrf(client)})
    assert resp.status_code == 401
    assert client.get(f"/s/{app.config['ids']['sitting']}/edit").status_code == 302  # to the login page


def test_roles_and_tokens(app):
    sid = app.config["ids"]["sitting"]
    clerk, headers = logged_in(app, "clara")
    assert clerk.post(f"/api/v1/sittings/{sid}/publish", headers=headers).status_code == 403
    assert clerk.get("/admin/users").status_code == 403
    token = run_cli("token", "create", "eddie", env=app.config["env"]).stdout.strip()
    api = app.test_client()
    seg = segments(app)[0]
    resp = api.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Правка скриптом."},
                     headers={"Authorization": f"Bearer {token}"})  # no CSRF for token calls
    assert resp.status_code == 200 and resp.get_json()["version"] == seg.version + 1
    pub = api.post(f"/api/v1/sittings/{sid}/publish", headers={"Authorization": f"Bearer {token}"})
    assert pub.status_code == 200 and pub.get_json()["link"].endswith(f"/s/{sid}/v/1")
    assert api.patch(f"/api/v1/segments/{seg.id}", json={"version": 2, "text": "x"},
                     headers={"Authorization": "Bearer snp_forged"}).status_code == 401
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        actions = [a.action for a in s.scalars(select(AuditLog))]
    assert "sitting.publish" in actions and "token.create" in actions


def test_csrf_required_for_cookie_writes(app):
    clerk, headers = logged_in(app, "clara")
    seg = segments(app)[0]
    assert clerk.patch(f"/api/v1/segments/{seg.id}", json={"version": 1, "text": "x y"}).status_code == 400
    assert clerk.patch(f"/api/v1/segments/{seg.id}", json={"version": 1, "text": "x y"},
                       headers={"X-CSRF-Token": "forged"}).status_code == 400
    assert segments(app)[0].text == seg.text


def test_edit_keeps_history_and_reverts(app):
    clerk, headers = logged_in(app, "clara")
    seg = segments(app)[1]
    new_text = "Депутаты подробно обсуждают бюджет на следующий год."
    resp = clerk.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": new_text},
                       headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["text"] == new_text and body["version"] == seg.version + 1
    old = {w["word"].strip(): (w["start"], w["end"]) for w in seg.words}
    for w in body["words"]:
        if w["word"].strip() in old and w["word"].strip() != "подробно":
            assert (w["start"], w["end"]) == old[w["word"].strip()]  # unchanged words keep their times
    revs = clerk.get(f"/api/v1/segments/{seg.id}/revisions").get_json()["items"]
    assert revs[0]["editor"] == "clara" and revs[0]["before"]["segments"][0]["text"] == seg.text
    assert revs[0]["at"].endswith("+06:00")  # the configured zone (Asia/Bishkek), as every date the API gives
    history = clerk.get(f"/s/{app.config['ids']['sitting']}/history").get_data(as_text=True)
    assert "<ins>подробно</ins>" in history
    back = clerk.post(f"/api/v1/revisions/{revs[0]['id']}/revert", headers=headers)
    assert back.status_code == 200 and back.get_json()["text"] == seg.text
    assert [w["start"] for w in back.get_json()["words"]] == [w["start"] for w in seg.words]


def test_concurrent_editors_one_wins_other_gets_409(app):
    seg = segments(app)[0]
    results = []
    clients = [logged_in(app, "clara"), logged_in(app, "eddie")]
    barrier = threading.Barrier(2)

    def save(client, headers, text):
        barrier.wait()
        results.append(client.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": text},
                                    headers=headers))

    threads = [threading.Thread(target=save, args=(c, h, f"Версия {i} текста.")) for i, (c, h) in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409]
    loser = next(r for r in results if r.status_code == 409).get_json()
    winner = next(r for r in results if r.status_code == 200).get_json()
    assert loser["current"] is None or loser["current"]["text"] == winner["text"]
    assert segments(app)[0].text == winner["text"]  # nothing half-saved
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        assert len(list(s.scalars(select(Revision).where(Revision.segment_id == seg.id)))) == 1


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"version": 1, "text": "   "}, 400, "must not be empty"),
    ({"version": 1, "start": 5.0, "end": 4.0}, 400, "after 'start'"),
    ({"version": 1, "end": 6.0}, 400, "overlaps the next"),
    ({"version": 1, "speaker": 9999}, 400, "unknown speaker"),
    ({"version": 1, "colour": "red"}, 400, "unknown field"),
    ({"text": "no version"}, 400, "'version'"),
    ({"version": 7, "text": "stale"}, 409, "changed by someone else"),
    ({"version": 1, "text": "x" * 70_000}, 413, "too large"),
])
def test_bad_edits_save_nothing(app, body, status, message):
    clerk, headers = logged_in(app, "clara")
    seg = segments(app)[0]
    resp = clerk.patch(f"/api/v1/segments/{seg.id}", json=body, headers=headers)
    assert resp.status_code == status and message in resp.get_json()["error"]
    after = segments(app)[0]
    assert (after.text, after.start, after.end, after.version) == (seg.text, seg.start, seg.end, seg.version)


def test_non_json_and_live_draft_are_refused(app):
    clerk, headers = logged_in(app, "clara")
    seg = segments(app)[0]
    assert clerk.patch(f"/api/v1/segments/{seg.id}", data="text=x", headers=headers).status_code == 400
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        live_seg = s.scalar(select(TranscriptSegment.id).where(TranscriptSegment.source == "live"))
    resp = clerk.patch(f"/api/v1/segments/{live_seg}", json={"version": 1, "text": "x"}, headers=headers)
    assert resp.status_code == 400 and "read-only" in resp.get_json()["error"]
    assert clerk.get(f"/s/{app.config['ids']['live']}/edit").status_code == 409


def test_split_and_merge(app):
    clerk, headers = logged_in(app, "clara")
    seg = segments(app)[1]  # "Депутаты обсуждают бюджет на следующий год."
    offset = seg.text.index("бюджет")
    resp = clerk.post(f"/api/v1/segments/{seg.id}/split", json={"version": seg.version, "offset": offset},
                      headers=headers)
    assert resp.status_code == 200
    first, second = resp.get_json()["first"], resp.get_json()["second"]
    assert first["text"] == "Депутаты обсуждают" and second["text"].startswith("бюджет")
    assert first["end"] == second["start"] == seg.words[2]["start"]
    merged = clerk.post(f"/api/v1/segments/{seg.id}/merge", json={
        "version": first["version"], "next_version": second["version"]}, headers=headers)
    assert merged.status_code == 200 and merged.get_json()["text"] == seg.text
    assert len(segments(app)) == 4
    assert clerk.post(f"/api/v1/segments/{seg.id}/split", json={"version": 3, "offset": 0},
                      headers=headers).status_code == 400


def test_publication_freezes_text_while_working_copy_moves_on(app):
    sid = app.config["ids"]["sitting"]
    editor, headers = logged_in(app, "eddie")
    seg = segments(app)[0]
    assert editor.post(f"/api/v1/sittings/{sid}/publish", headers=headers).status_code == 200
    edit = editor.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Новый рабочий текст."},
                        headers=headers)
    assert edit.status_code == 200
    public = app.test_client()

    def text(url: str) -> str:
        return re.sub(r"<[^>]+>", "", public.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True))

    page = text(f"/s/{sid}")
    assert "Official stenogram, published" in page and "Новый рабочий" not in page and "Заседание" in page
    assert public.get(f"/api/v1/sittings/{sid}/transcript").get_json()["segments"][0]["text"] == seg.text
    assert public.get("/api/v1/search?q=рабочий").get_json()["total"] == 0  # the index holds what the public sees
    assert editor.post(f"/api/v1/sittings/{sid}/publish", headers=headers).get_json()["number"] == 2
    assert "Новый рабочий текст." in text(f"/s/{sid}")
    assert "Заседание комитета" in text(f"/s/{sid}/v/1")  # the citation link keeps version 1
    hits = public.get("/api/v1/search?q=рабочий").get_json()
    assert hits["total"] == 1 and hits["items"][0]["official"] is True


def test_admin_disables_users_and_passwords_change(app):
    admin, headers = logged_in(app, "ada")
    clerk, _ = logged_in(app, "clara")
    page = admin.get("/admin/users").get_data(as_text=True)
    clara_id = re.search(r'name="user_id" value="(\d+)"><input type="hidden" name="active" value="0">', page)
    assert clara_id
    admin.post("/admin/users", data={"user_id": clara_id.group(1), "active": "0",
                                     "csrf_token": headers["X-CSRF-Token"]})
    assert clerk.get("/account").status_code == 302  # session no longer valid
    assert login(app.test_client(), "clara").status_code == 401
    eddie, h = logged_in(app, "eddie")
    bad = eddie.post("/account", data={"current": PASSWORD, "new": "short", "repeat": "short",
                                       "csrf_token": h["X-CSRF-Token"]})
    assert bad.status_code == 400
    good = eddie.post("/account", data={"current": PASSWORD, "new": "a much longer one", "repeat": "a much longer one",
                                        "csrf_token": h["X-CSRF-Token"]})
    assert good.status_code == 200
    assert login(app.test_client(), "eddie", "a much longer one").status_code == 302


def test_cli_user_errors(app):
    env = app.config["env"]
    dup = run_cli("user", "add", "clara", "--role", "clerk", env=env, input=PASSWORD + "\n", check=False)
    assert dup.returncode == 1 and "exists already" in dup.stderr
    short = run_cli("user", "add", "newbie", "--role", "clerk", env=env, input="short\n", check=False)
    assert short.returncode == 1 and "too short" in short.stderr


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_unchanged_words_keep_their_times(data):
    n = data.draw(st.integers(1, 25))
    gaps = data.draw(st.lists(st.floats(0.0, 1.0), min_size=2 * n, max_size=2 * n))
    t, old = 10.0, []
    for i in range(n):
        start = t + gaps[2 * i]
        end = start + gaps[2 * i + 1] + 0.01
        old.append(Word(f"w{i}", round(start, 3), round(end, 3), 0.9))
        t = end
    words = [w.word for w in old]
    kept = set(words)
    for op in data.draw(st.lists(st.sampled_from(["insert", "delete", "replace"]), max_size=6)):
        pos = data.draw(st.integers(0, max(0, len(words) - 1)))
        if op == "insert":
            words.insert(pos, f"new{len(words)}x")
        elif words and op == "delete" and len(words) > 1:
            kept.discard(words.pop(pos))
        elif words and op == "replace":
            kept.discard(words[pos])
            words[pos] = f"rep{pos}y"
    new = realign_words(old, " ".join(words), old[0].start, old[-1].end)
    assert [w.word.strip() for w in new] == words
    by_name = {w.word: w for w in old}
    for w in new:
        if w.word.strip() in kept:
            assert (w.start, w.end) == (by_name[w.word.strip()].start, by_name[w.word.strip()].end)
    starts = [w.start for w in new]
    assert starts == sorted(starts)
    assert all(old[0].start <= w.start <= w.end <= old[-1].end for w in new)
