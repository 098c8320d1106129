"""Web figures with wrk (Debian): requests/s and p95 for the sitting page of a 3-hour transcript
and the search page over a 1,000-hour FTS5 corpus, with one and two server processes, each
held against a static file served by the same server in the same run.

wrk cycles through 100 queries of bench/search.py's mix, so after the first round the search
page answers from the result cache (as a popular query does in production until the index
changes). The cold figure is each query's first request, one at a time, before wrk runs.

    python bench/web.py [--hours 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import corpus, queries  # noqa: E402
from sanarip.catalog import add_committee  # noqa: E402
from sanarip.config import load_settings  # noqa: E402
from sanarip.models import Sitting, TranscriptSegment, utcnow  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from sanarip.sittings import SittingStatus  # noqa: E402
from search.fts5 import Fts5Index  # noqa: E402
from tests.seed import words_for  # noqa: E402
from tests.services import end_process, free_port, wait_for_port  # noqa: E402

LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local rate = summary.requests / (summary.duration / 1e6)
  io.write(string.format("RESULT %%f %%f\\n", rate, latency:percentile(95) / 1000))
end
"""


def seed(env: dict[str, str], hours: int) -> int:
    rt = Runtime(load_settings(env))
    rt.db.upgrade()
    sample = list(corpus(1))
    with rt.db.session() as s:
        c = add_committee(s, "budget", "Budget")
        st = Sitting(committee_id=c.id, title="Three hours", status=SittingStatus.TRANSCRIBED, started_at=utcnow(),
                     duration=3 * 3600.0)
        s.add(st)
        s.flush()
        for i in range(900):  # 3 hours of 12 s segments
            text = sample[i % len(sample)].text
            s.add(TranscriptSegment(sitting_id=st.id, start=i * 12.0, end=i * 12.0 + 11.5, text=text,
                                    words=words_for(text, i * 12.0, i * 12.0 + 11.5), language="ru", source="final"))
        sitting_id = st.id
    Fts5Index(Path(env["SANARIP_DATA_DIR"]) / "search.db").rebuild(corpus(hours))
    rt.close()
    return sitting_id


def wrk(url: str, paths: list[str], seconds: int, connections: int = 8) -> tuple[float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % ", ".join(f'"{p}"' for p in paths))
    try:
        proc = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", fh.name, url],
                              capture_output=True, text=True)
    finally:
        os.unlink(fh.name)
    if proc.returncode:
        raise RuntimeError(f"wrk failed: {proc.stderr or proc.stdout}")
    rate, p95 = re.search(r"RESULT ([\d.]+) ([\d.]+)", proc.stdout).groups()
    return float(rate), float(p95)


def cold(url: str, paths: list[str]) -> tuple[float, float]:
    """p50 and p95 (ms) of each path's first request, one at a time."""
    times = []
    for path in dict.fromkeys(paths):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url + path) as resp:
            resp.read()
        times.append(time.perf_counter() - t0)
    return float(np.percentile(times, 50)) * 1000, float(np.percentile(times, 95)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
        env.update(SANARIP_DATA_DIR=tmp, SANARIP_SECRET_KEY="bench")
        print(f"seeding a 3-hour transcript and a {args.hours}-hour FTS5 corpus …", flush=True)
        sitting = seed(env, args.hours)
        searches = [f"/search?q={quote(q)}" + (f"&committee={f.committee}" if f.committee else "")
                    for q, _bare, f in queries(random.Random(11))[:100]]  # bench/search.py's mix
        results: dict[int, dict[str, tuple[float, float]]] = {}
        for processes in (1, 2):
            port = free_port()
            server = subprocess.Popen([str(Path(sys.executable).parent / "sanarip"), "serve", "--port", str(port),
                                       "--processes", str(processes)], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            wait_for_port(port, proc=server)
            url = f"http://127.0.0.1:{port}"
            if processes == 1:
                c50, c95 = cold(url, searches)
                print(f"search page, first request of each of {len(set(searches))} queries (no cache): "
                      f"p50 {c50:.1f} ms p95 {c95:.1f} ms", flush=True)
            wrk(url, [f"/s/{sitting}", *searches], 10)  # warm up (each process fills its own cache)
            results[processes] = {
                "static": wrk(url, ["/static/app.css"], args.seconds),
                "sitting": wrk(url, [f"/s/{sitting}"], args.seconds),
                "search": wrk(url, searches, args.seconds),
            }
            end_process(server)
            time.sleep(1)
        for processes, r in results.items():
            s_rate, s_p95 = r["static"]
            for name in ("sitting", "search"):
                rate, p95 = r[name]
                goal = "100" if name == "sitting" else "40"
                print(f"{processes} process(es) {name:<8} {rate:7.1f} req/s  p95 {p95:6.1f} ms (goal <= {goal} ms)  "
                      f"static {s_rate:7.1f} req/s p95 {s_p95:5.1f} ms  rate ratio to static {rate / s_rate:.3f}")
        for name in ("sitting", "search"):
            print(f"two processes / one, {name}: {results[2][name][0] / results[1][name][0]:.2f}x (goal >= 1.4)")


if __name__ == "__main__":
    main()
