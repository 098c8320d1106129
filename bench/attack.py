"""Figures of the site under attack, from one run against `sanarip serve` on 127.0.0.1 (issue 18).

* schemathesis operations / cases / failures, anonymously and with an editor's token (goal: 0);
* login attempts an attacker gets per hour per username (from ever-new addresses) and per address
  (spraying usernames), from the throttle's own arithmetic over a simulated hour on a real database;
* whether the real user still logs in while attackers hammer her username from many addresses
  (served behind one trusted proxy hop), and how long it takes (goal: yes, within 2 s);
* home-page p95 alone and under 8 parallel worst-case searches (goal: at most 2x).

Each section serves its own instance and returns (name, value) rows.

    python bench/attack.py [--examples 25] [--seed 20260318] [--segments 20000] [--seconds 15] [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sanarip import throttle  # noqa: E402
from sanarip.config import Settings, load_settings  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from tests import corpus  # noqa: E402
from tests.fuzzing import schemathesis, served_site  # noqa: E402
from tests.seed import seed  # noqa: E402
from tests.services import end_process, free_port, wait_for_port  # noqa: E402

Rows = list[tuple[str, object]]
PASSWORD = "correct horse battery"
SCRYPT_SECONDS = 0.1  # what one checked attempt costs the attacker at least (the server's password check)


# --- the throttle's arithmetic over an hour ---------------------------------------------------
def attempts_per_hour(settings: Settings, spray_usernames: bool) -> int:
    """Checked guesses in one simulated hour, the attacker retrying the moment the throttle allows.

    ``spray_usernames``: one address, a new username each time (the address limit binds); else one
    username from a new address each time (the username's back-off binds).
    """
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(load_settings({"SANARIP_DATA_DIR": tmp, "SANARIP_SECRET_KEY": "bench"}))
        rt.db.upgrade()
        now, end, checked = 0.0, 3600.0, 0
        while now < end:
            user = f"login-user:u{checked}" if spray_usernames else "login-user:clara"
            addr = "login-addr:10.0.0.1" if spray_usernames else f"login-addr:{address(checked)}"
            with rt.db.session() as s:
                wait = throttle.wait_for(s, [user, addr], now=now)
                if wait:
                    now += wait
                    continue
                checked += 1
                throttle.backoff_failure(s, user, settings.login_backoff_after, settings.login_backoff_max, now=now)
                throttle.window_hit(s, addr, settings.login_address_limit, 3600.0, now=now)
            now += SCRYPT_SECONDS
        rt.close()
        return checked


def address(n: int) -> str:
    """The ``n``-th address of a botnet."""
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


# --- a served instance --------------------------------------------------------------------------
@contextmanager
def served(env: dict[str, str], threads: int = 8) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port),
                               "--threads", str(threads)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=server)
        yield f"http://127.0.0.1:{port}"
    finally:
        end_process(server)


def fetch(opener: urllib.request.OpenerDirector, url: str, data: dict | None = None,
          headers: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with opener.open(req, timeout=60) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())


def log_in(opener, base: str, username: str, password: str, address: str) -> int:
    _, html = fetch(opener, f"{base}/login", headers={"X-Forwarded-For": address})
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    status, _ = fetch(opener, f"{base}/login", {"username": username, "password": password, "csrf_token": token},
                      {"X-Forwarded-For": address})
    return status


def login_under_attack(base: str, seconds: float, attackers: int = 4) -> dict[str, object]:
    """Attackers guess clara's password from ever-new addresses; clara (who logged in here before) logs in."""
    clara = browser()
    assert log_in(clara, base, "clara", PASSWORD, "192.0.2.10") == 302  # her earlier visit: a device cookie
    stop = threading.Event()
    codes: list[int] = []

    def attack(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            codes.append(log_in(browser(), base, "clara", f"guess {n}-{i}", f"198.18.{n}.{i % 250}"))

    threads = [threading.Thread(target=attack, args=(n,)) for n in range(attackers)]
    for t in threads:
        t.start()
    time.sleep(min(3.0, seconds / 3))  # her username is deep in back-off by now
    logins = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        ok = log_in(clara, base, "clara", PASSWORD, "192.0.2.10") == 302
        logins.append((ok, time.monotonic() - started))
        time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(60)
    stranger = log_in(browser(), base, "clara", PASSWORD, "192.0.2.99")  # a new browser meets the back-off
    return {"attacker_requests": len(codes), "attacker_checked": codes.count(401),
            "attacker_refused_429": codes.count(429), "real_user_logins": len(logins),
            "real_user_ok": all(ok for ok, _ in logins), "real_user_max_s": round(max(s for _, s in logins), 3),
            "new_browser_status": stranger}


def home_p95(base: str, n: int = 60) -> float:
    opener = urllib.request.build_opener()
    times = []
    for _ in range(n):
        started = time.monotonic()
        fetch(opener, f"{base}/")
        times.append(time.monotonic() - started)
        time.sleep(0.05)
    return float(np.percentile(times, 95))


def availability(base: str) -> dict[str, object]:
    """Home-page p95 alone, then while 8 clients send worst-case searches (varied past the cache)."""
    alone = home_p95(base)
    stop = threading.Event()
    answers: list[int] = []

    def search(n: int) -> None:
        opener, variant = urllib.request.build_opener(), n * 100_000
        while not stop.is_set():
            variant += 1
            q = corpus.one_letter_attack(variant) if variant % 2 else corpus.worst_allowed(variant)
            answers.append(fetch(opener, f"{base}/api/v1/search?q={urllib.parse.quote(q)}")[0])

    threads = [threading.Thread(target=search, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    loaded = home_p95(base)
    stop.set()
    for t in threads:
        t.join(60)
    return {"home_p95_alone_s": round(alone, 4), "home_p95_under_attack_s": round(loaded, 4),
            "ratio": round(loaded / alone, 2), "searches": len(answers),
            "search_statuses": {str(c): answers.count(c) for c in sorted(set(answers))}}


def prepare(data_dir: Path, segments: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(data_dir), SANARIP_SECRET_KEY="bench", SANARIP_TRUSTED_PROXIES="1",
               SANARIP_SEARCH_RATE_LIMIT="0", SANARIP_API_RATE_LIMIT="0",
               SANARIP_SEARCH_CONCURRENCY=os.environ.get("SANARIP_SEARCH_CONCURRENCY", "2"))
    corpus.build(data_dir / "search.db", segments)
    rt = Runtime(load_settings(env))
    rt.db.upgrade()
    seed(rt)
    rt.close()
    exe = str(Path(sys.executable).parent / "sanarip")
    subprocess.run([exe, "user", "add", "clara", "--role", "clerk"], env=env, input=PASSWORD + "\n", text=True,
                   check=True, capture_output=True)
    return env




# --- the sections -----------------------------------------------------------------------------
def schemathesis_section(args: argparse.Namespace, tmp: Path) -> Rows:
    rows: Rows = []
    with served_site(tmp) as site:
        for who, token in (("anonymous", None), ("editor token", site.token)):
            result = schemathesis(site, tmp / f"{who.replace(' ', '-')}.ndjson", token=token, seed=args.seed,
                                  examples=args.examples, timeout=args.cap)
            rows += [(f"schemathesis {who}: operations", result.operations),
                     (f"schemathesis {who}: cases", result.cases),
                     (f"schemathesis {who}: failures (goal 0)", len(result.failures))]
            for failure in result.failures:
                print(failure, file=sys.stderr)
    return rows


def login_section(args: argparse.Namespace, tmp: Path) -> Rows:
    defaults = load_settings({"SANARIP_DATA_DIR": str(tmp)})
    rows: Rows = [("login attempts per hour per username", attempts_per_hour(defaults, spray_usernames=False)),
                  ("login attempts per hour per address", attempts_per_hour(defaults, spray_usernames=True))]
    env = prepare(tmp / "login-data", 1000)
    with served(env) as base:
        rows += [(f"login under attack: {k}", v) for k, v in login_under_attack(base, args.seconds).items()]
    return rows


def availability_section(args: argparse.Namespace, tmp: Path) -> Rows:
    env = prepare(tmp / "search-data", args.segments)
    with served(env) as base:
        return [(f"availability: {k}", v) for k, v in availability(base).items()]


SECTIONS: dict[str, Callable[[argparse.Namespace, Path], Rows]] = {
    "schemathesis": schemathesis_section,
    "login": login_section,
    "availability": availability_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=25, help="schemathesis examples per operation")
    parser.add_argument("--seed", type=int, default=20260318)
    parser.add_argument("--cap", type=float, default=600, help="seconds one schemathesis run may take")
    parser.add_argument("--segments", type=int, default=20_000, help="synthetic segments in the search index")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the login attack runs")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanarip-attack-") as tmp_name:
        for name in args.only or list(SECTIONS):
            for label, value in SECTIONS[name](args, Path(tmp_name)):
                print(f"{label}: {value}", flush=True)


if __name__ == "__main__":
    main()
