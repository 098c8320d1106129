"""Bounded search cost: query limits, a per-query time budget, a normalised cache, and a site that keeps answering."""

import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from sanarip.config import load_settings
from search import QueryError, QueryTooExpensive, SearchBusy
from search.fts5 import Fts5Index
from search.query import parse
from tests import corpus
from tests.seed import seed
from tests.services import end_process, free_port, wait_for_port
from web import create_app

CORPUS_SIZE = 40_000


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return corpus.build(tmp_path_factory.mktemp("archive") / "search.db", CORPUS_SIZE)


def data_dir_with(archive: Path, settings_env) -> Path:
    data = Path(settings_env["SANARIP_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, data / "search.db")
    return data


@pytest.mark.parametrize(("query", "message"), [
    ("а*", "at least 2 letters"),
    (corpus.one_letter_attack(), "at least 2 letters"),
    ("ба* бе* би* бо* бу*", "too many prefix"),
    (" OR ".join(["бюджет", "налог", "закон", "кодекс", "депутат", "комитет", "сессия", "отчет", "план"]),
     "too many OR alternatives"),
])
def test_costly_query_shapes_are_refused(query, message):
    with pytest.raises(QueryError, match=message):
        parse(query)
    parse(corpus.worst_allowed())  # the bounds still allow a useful query


def test_time_budget_refuses_an_expensive_query(archive, tmp_path):
    shutil.copy(archive, tmp_path / "search.db")
    tight = Fts5Index(tmp_path / "search.db", budget=0.001)
    with pytest.raises(QueryTooExpensive, match="narrow it"):
        tight.search(corpus.worst_allowed())
    roomy = Fts5Index(tmp_path / "search.db", budget=30)
    assert roomy.search(corpus.worst_allowed()).total > 0  # the same query within a budget it fits


def test_a_search_with_no_slot_and_no_room_to_wait_is_refused_at_once(archive, tmp_path):
    """Searches hold at most concurrency + queue server threads (``sanarip serve`` adds those for them)."""
    shutil.copy(archive, tmp_path / "search.db")
    index = Fts5Index(tmp_path / "search.db", cache_size=0, concurrency=1, queue=0)
    assert index._slots.acquire(blocking=False)  # the one slot, as a running query holds it
    try:
        with pytest.raises(SearchBusy):
            index.search(corpus.worst_allowed())
    finally:
        index._slots.release()
    assert index.search(corpus.worst_allowed()).total > 0


def test_a_busy_search_is_503_with_retry_after(archive, settings_env):
    data_dir_with(archive, settings_env)
    settings_env.update(SANARIP_SEARCH_CONCURRENCY="1", SANARIP_SEARCH_QUEUE="0", SANARIP_SEARCH_RATE_LIMIT="0")
    app = create_app(load_settings(settings_env))
    client = app.test_client()
    from web.deps import search_index

    with app.app_context():
        slots = search_index()._slots
    assert slots.acquire(blocking=False)
    try:
        resp = client.get(f"/api/v1/search?q={urllib.parse.quote(corpus.worst_allowed())}")
    finally:
        slots.release()
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1" and resp.get_json()["status"] == 503


def test_too_expensive_is_a_clear_400(archive, settings_env):
    data_dir_with(archive, settings_env)
    settings_env["SANARIP_SEARCH_BUDGET"] = "0.001"
    client = create_app(load_settings(settings_env)).test_client()
    q = urllib.parse.quote(corpus.worst_allowed())
    api = client.get(f"/api/v1/search?q={q}")
    assert api.status_code == 400 and "too expensive" in api.get_json()["error"] and api.get_json()["status"] == 400
    page = client.get(f"/search?q={q}")
    assert page.status_code == 400 and "narrow it" in page.get_data(as_text=True)


def test_spelling_variants_share_one_cached_result(settings_env):
    app = create_app(load_settings(settings_env))
    seed(app.extensions["sanarip"])
    from web.deps import search_index

    with app.app_context():
        index = search_index()
        first = index.search("Бюджет комитета")
        # Case, spacing and order; not inflection: a word is also searched in its Kyrgyz reading, where
        # "бюджеты" and "бюджет" are different words, so those two queries may well differ.
        for variant in ("бюджет   комитета", "КОМИТЕТА бюджет", "комитета  БЮДЖЕТ"):
            assert index.search(variant) is first  # one entry: varying the spelling cannot bypass the cache
        assert index.search("бюджет OR налог") is index.search("налог OR бюджет")
        assert index.search("бюджет -налог") is not first


def test_cheap_page_answers_while_8_worst_case_searches_run(archive, settings_env):
    """Availability: 8 parallel worst-case searches (varied past any cache) while the home page keeps answering."""
    data_dir_with(archive, settings_env)
    settings_env["SANARIP_SEARCH_RATE_LIMIT"] = "0"  # the budget and the search slots are what is tested
    settings_env["SANARIP_API_RATE_LIMIT"] = "0"
    port = free_port()
    exe = Path(sys.executable).parent / "sanarip"
    server = subprocess.Popen([str(exe), "serve", "--port", str(port), "--threads", "8"], env=settings_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    statuses: list[int] = []

    def fetch(url: str, timeout: float = 60) -> int:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def attacker(n: int) -> None:
        variant = n * 1000
        while not stop.is_set():
            variant += 1
            q = corpus.one_letter_attack(variant) if variant % 2 else corpus.worst_allowed(variant)
            statuses.append(fetch(f"{base}/api/v1/search?q={urllib.parse.quote(q)}"))

    try:
        wait_for_port(port, proc=server)
        assert fetch(f"{base}/") == 200
        threads = [threading.Thread(target=attacker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the attack is under way
        latencies = []
        for _ in range(15):
            started = time.monotonic()
            assert fetch(f"{base}/", timeout=30) == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(60)
    finally:
        stop.set()
        end_process(server)
    assert len(statuses) >= 8 and set(statuses) <= {200, 400, 503}  # refused or answered, never a crash
    print(f"home page under attack: max {max(latencies):.3f} s, statuses {sorted(set(statuses))}")
    assert max(latencies) < 1.0, f"the home page waited {max(latencies):.2f} s under the attack"
