"""Sessions and API tokens: revocable server-side sessions, bounded lifetimes, expiring tokens, 401s."""

import base64
import json
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import update

from sanarip.clock import local_date
from sanarip.config import load_settings
from sanarip.models import ApiToken, User, WebSession, utcnow
from tests.conftest import run_cli
from tests.seed import seed
from tests.test_clerk import PASSWORD, csrf, logged_in, login, segments
from web import create_app


@pytest.fixture
def app(settings_env):
    settings_env["SANARIP_SESSION_IDLE_HOURS"] = "1"
    app = create_app(load_settings(settings_env))
    app.config["ids"] = seed(app.extensions["sanarip"])
    for name, role in (("clara", "clerk"), ("eddie", "editor")):
        run_cli("user", "add", name, "--role", role, env=settings_env, input=PASSWORD + "\n")
    app.config["env"] = settings_env
    return app


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def decoded(cookie: str) -> dict:
    """The payload of Flask's signed cookie (readable by anyone who holds the cookie)."""
    body = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(zlib.decompress(raw) if cookie.startswith(".") else raw)


def test_cookie_replayed_after_logout_neither_reads_nor_writes(app):
    client, headers = logged_in(app, "eddie")
    stolen = session_cookie(client)
    assert client.get("/account").status_code == 200
    client.post("/logout", data={"csrf_token": headers["X-CSRF-Token"]})
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/account").status_code == 302  # to the login page
    seg = segments(app)[0]
    resp = replay.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Подделка."},
                        headers=headers)
    assert resp.status_code == 401
    assert segments(app)[0].text == seg.text


def test_cookie_holds_nothing_secret(app):
    client, _ = logged_in(app, "clara")
    payload = decoded(session_cookie(client))
    assert set(payload) == {"sid", "csrf"}
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        pw_hash = s.query(User).filter_by(username="clara").one().password_hash
        stored = [row.id for row in s.query(WebSession)]
    assert pw_hash[-16:] not in json.dumps(payload)
    assert payload["sid"] not in stored  # only its hash is kept server-side


def test_password_change_revokes_every_other_session(app):
    phone, _ = logged_in(app, "eddie")
    laptop, headers = logged_in(app, "eddie")
    resp = laptop.post("/account", data={"current": PASSWORD, "new": "a much longer one", "repeat": "a much longer one",
                                         "csrf_token": headers["X-CSRF-Token"]})
    assert resp.status_code == 200
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200  # the browser that changed it stays logged in


def test_idle_and_absolute_lifetimes(app):
    db = app.extensions["sanarip"].db
    client, _ = logged_in(app, "clara")

    def age(**values) -> int:
        with db.session() as s:
            s.execute(update(WebSession).values(**values))
        return client.get("/account").status_code

    assert age(last_seen_at=utcnow() - timedelta(minutes=50)) == 200  # idle below SANARIP_SESSION_IDLE_HOURS=1
    assert age(last_seen_at=utcnow() - timedelta(minutes=70)) == 302
    client, _ = logged_in(app, "clara")
    assert age(created_at=utcnow() - timedelta(days=6, hours=23), last_seen_at=utcnow()) == 200
    assert age(created_at=utcnow() - timedelta(days=7, hours=1), last_seen_at=utcnow()) == 302  # 7 days at most


def test_anonymous_writes_are_401_with_www_authenticate(app):
    client = app.test_client()
    seg = segments(app)[0]
    for resp in (client.patch(f"/api/v1/segments/{seg.id}", json={"version": 1, "text": "x"}),
                 client.post(f"/api/v1/sittings/{app.config['ids']['sitting']}/publish"),
                 client.post("/admin/users", data={"user_id": "1", "active": "0"})):
        assert resp.status_code == 401, resp.request.path
        assert resp.headers["WWW-Authenticate"].lower().startswith("bearer")
    api = client.patch(f"/api/v1/segments/{seg.id}", json={"version": 1, "text": "x"})
    assert api.get_json()["status"] == 401
    bad = client.get("/api/v1/committees", headers={"Authorization": "Bearer snp_forged"})
    assert bad.status_code == 401 and "WWW-Authenticate" in bad.headers
    # Login itself stays CSRF-protected: a forged login form is refused, not 401.
    assert client.post("/login", data={"username": "clara", "password": PASSWORD}).status_code == 400


def test_token_create_list_revoke_and_expiry(app):
    env = app.config["env"]
    token = run_cli("token", "create", "eddie", "--expires", "30d", "--name", "nightly", env=env).stdout.strip()
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    listed = json.loads(run_cli("token", "list", "--json", env=env).stdout)
    assert [(t["user"], t["name"], t["last_used"], t["revoked"]) for t in listed] == [("eddie", "nightly", None, None)]
    expires = listed[0]["expires"]
    assert expires[:10] == (utcnow() + timedelta(days=30)).date().isoformat()
    seg = segments(app)[0]
    assert api.patch(f"/api/v1/segments/{seg.id}", json={"version": seg.version, "text": "Скрипт."},
                     headers=auth).status_code == 200
    table = run_cli("token", "list", env=env).stdout
    today = local_date(utcnow(), load_settings(env).tz).isoformat()  # the table speaks the sitting's zone
    assert "nightly" in table and today in table.splitlines()[1].split("nightly")[1]
    assert json.loads(run_cli("token", "list", "--json", env=env).stdout)[0]["last_used"] is not None
    with app.extensions["sanarip"].db.session() as s:  # time passes
        s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert api.get("/api/v1/committees", headers=auth).status_code == 401
    second = run_cli("token", "create", "eddie", env=env).stdout.strip()
    assert api.get("/api/v1/committees", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert "revoked token 2" in run_cli("token", "revoke", "2", env=env).stdout
    assert api.get("/api/v1/committees", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    shown = run_cli("token", "list", env=env).stdout
    assert token not in shown and second not in shown
    bad = run_cli("token", "create", "eddie", "--expires", "soon", env=env, check=False)
    assert bad.returncode == 1 and "days" in bad.stderr
    missing = run_cli("token", "revoke", "99", env=env, check=False)
    assert missing.returncode == 1 and "no token 99" in missing.stderr


def test_disabled_user_sessions_end(app):
    client, _ = logged_in(app, "clara")
    run_cli("user", "disable", "clara", env=app.config["env"])
    with app.extensions["sanarip"].db.session(readonly=True) as s:
        assert s.query(WebSession).count() == 0
    assert client.get("/account").status_code == 302
    assert login(app.test_client(), "clara").status_code == 401
    assert csrf(app.test_client())
