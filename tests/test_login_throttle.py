"""Login throttling that cannot be turned against users, and per-address rate limits (429 + Retry-After)."""

import subprocess
import sys

import pytest

from sanarip import throttle
from sanarip.config import load_settings
from sanarip.models import Throttle
from tests.conftest import ROOT, run_cli
from tests.seed import seed
from tests.test_clerk import PASSWORD, csrf, logged_in
from web import create_app


def make_app(settings_env, **env):
    settings_env.update({f"SANARIP_{k.upper()}": str(v) for k, v in env.items()})
    app = create_app(load_settings(settings_env))
    app.config["env"] = settings_env
    return app


@pytest.fixture
def app(settings_env):
    app = make_app(settings_env, trusted_proxies=1, login_address_limit=8)
    seed(app.extensions["sanarip"])
    for name, role in (("clara", "clerk"), ("eddie", "editor")):
        run_cli("user", "add", name, "--role", role, env=settings_env, input=PASSWORD + "\n")
    return app


def attempt(client, username, password, address="203.0.113.9"):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)},
                       headers={"X-Forwarded-For": address, "Accept-Language": "en"})  # messages in English


def test_backoff_grows_and_always_ends(runtime):
    """After N failures each attempt waits 2, 4, 8 … s (capped); the wait always ends: no hard lock."""
    now = 1_000_000.0
    with runtime.db.session() as s:
        waits = [throttle.backoff_failure(s, "login-user:x", after=3, longest=60, now=now + i) for i in range(9)]
        assert waits == [0, 0, 2, 4, 8, 16, 32, 60, 60]
        assert throttle.wait_for(s, ["login-user:x"], now=now + 8) == 60
        assert throttle.wait_for(s, ["login-user:x"], now=now + 8 + 60) == 0  # then the password is checked
        throttle.clear(s, "login-user:x")  # a success resets it
        assert throttle.wait_for(s, ["login-user:x"], now=now + 9) == 0


def test_failures_are_shared_by_every_process(app, settings_env):
    """Another process's failures count here (they were per process: 2 processes gave twice the guesses)."""
    script = """if True:
        import re
        from sanarip.config import load_settings
        from web import create_app
        c = create_app(load_settings()).test_client()
        for _ in range(5):
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
            form = {"username": "eddie", "password": "guess guess", "csrf_token": token}
            assert c.post("/login", data=form, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 401
    """
    subprocess.run([sys.executable, "-c", script], env=settings_env, cwd=ROOT, check=True, timeout=120)
    resp = attempt(app.test_client(), "eddie", PASSWORD, "198.51.100.8")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1


def test_real_user_logs_in_during_an_attack_on_her_username(app):
    clara = app.test_client()
    assert attempt(clara, "clara", PASSWORD, "192.0.2.1").status_code == 302  # an earlier visit: a device cookie
    clara.post("/logout", data={"csrf_token": csrf(clara)})
    attacker = app.test_client()
    codes = [attempt(attacker, "clara", f"guess number {i}", f"203.0.113.{i}").status_code for i in range(12)]
    assert codes[:6] == [401] * 5 + [429] and codes.count(429) >= 6  # later guesses are mostly not even checked
    assert attempt(clara, "clara", PASSWORD, "192.0.2.1").status_code == 302  # the real user is not locked out
    assert attempt(clara, "clara", PASSWORD, "203.0.113.1").status_code == 302  # even from the attacker's NAT


def test_right_password_works_once_the_backoff_ends(app):
    """A new browser meets the back-off, answered 429 with Retry-After, then gets in: never a hard lock."""
    attacker = app.test_client()
    for i in range(5):
        assert attempt(attacker, "eddie", f"guess {i}", f"203.0.113.{i}").status_code == 401
    fresh = app.test_client()
    refused = attempt(fresh, "eddie", PASSWORD, "192.0.2.50")
    assert refused.status_code == 429 and refused.headers["Retry-After"] in ("1", "2")
    assert "Too many failed attempts" in refused.get_data(as_text=True) and 'name="password"' in refused.get_data(
        as_text=True)  # the login form again, saying why
    with app.extensions["sanarip"].db.session() as s:  # the 2 s pass
        s.query(Throttle).filter(Throttle.key == "login-user:eddie").update({"blocked_until": 0})
    assert attempt(fresh, "eddie", PASSWORD, "192.0.2.50").status_code == 302


def test_address_limit_and_trusted_proxy_hops(app, settings_env):
    client = app.test_client()
    for i in range(8):  # SANARIP_LOGIN_ADDRESS_LIMIT=8 failures an hour, spread over many usernames
        assert attempt(client, f"user{i}", "wrong wrong", "203.0.113.77").status_code == 401
    blocked = attempt(client, "clara", PASSWORD, "203.0.113.77")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 3000
    assert attempt(client, "clara", PASSWORD, "203.0.113.78").status_code == 302  # other addresses are fine


def test_forwarded_for_is_ignored_without_trusted_proxies(settings_env):
    app = make_app(settings_env, login_address_limit=3)
    client = app.test_client()
    for i in range(3):
        assert attempt(client, f"user{i}", "wrong wrong", f"10.0.0.{i}").status_code == 401
    assert attempt(client, "user9", "wrong wrong", "10.9.9.9").status_code == 429  # a forged header is no escape


def test_account_password_check_is_throttled(app):
    eddie, headers = logged_in(app, "eddie")
    for _ in range(5):
        assert eddie.post("/account", data={"current": "not it at all", "new": "x" * 12, "repeat": "x" * 12,
                                            "csrf_token": headers["X-CSRF-Token"]}).status_code == 400
    eve, headers = logged_in(app, "eddie")  # a session thief in another browser
    resp = eve.post("/account", data={"current": PASSWORD, "new": "y" * 12, "repeat": "y" * 12,
                                      "csrf_token": headers["X-CSRF-Token"]}, headers={"X-Forwarded-For": "1.2.3.4"})
    assert resp.status_code == 429 and "Retry-After" in resp.headers


def test_search_and_api_rate_limits_per_address(settings_env):
    app = make_app(settings_env, trusted_proxies=1, search_rate_limit=3, api_rate_limit=4)
    seed(app.extensions["sanarip"])
    client = app.test_client()

    def get(url, address="203.0.113.5"):
        return client.get(url, headers={"X-Forwarded-For": address})

    assert [get(f"/api/v1/search?q=бюджет&page={p}").status_code for p in (1, 1, 1)] == [200, 200, 200]
    limited = get("/search?q=бюджет")
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    api = get("/api/v1/search?q=бюджет")
    assert api.status_code == 429 and api.get_json()["status"] == 429 and "Retry-After" in api.headers
    assert get("/search?q=бюджет", "203.0.113.6").status_code == 200  # per address
    assert [get("/api/v1/committees").status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert get("/").status_code == 200  # pages are not limited


def test_throttle_rows_are_pruned(runtime, monkeypatch):
    monkeypatch.setattr(throttle, "PRUNE_CHANCE", 0.0)  # prune exactly once, below
    with runtime.db.session() as s:
        for i in range(200):
            throttle.window_hit(s, f"search:10.0.{i // 250}.{i % 250}", 10, 60, now=1000.0)
            throttle.backoff_failure(s, f"login-user:u{i}", 5, 900, now=1000.0)
        throttle.backoff_failure(s, "login-user:recent", 5, 900, now=1000.0 + 86000)
    with runtime.db.session() as s:
        assert throttle.prune(s, now=1000.0 + 86400 + 1) == 400
        assert [r.key for r in s.query(Throttle)] == ["login-user:recent"]
