"""Live delivery figures, one run on this machine, everything served on 127.0.0.1.

A real ffmpeg publishes a live HLS source (speech on loop, 1 s keyframes, program-date-time);
`sanarip record` ingests it, a `sanarip worker --kinds live` drafts it (default `base` model),
`sanarip serve` (gunicorn, one process) serves pages and the public media itself (no nginx in
this run: say so in the figures). Clocks: the source's program-date-time is the truth; a
word is "spoken at" its segment's source PDT plus its offset; "visible" is when Chromium's
DOM of the live page shows it; "picture" is hls.js ``playingDate`` at that moment.

Phase 1 (latency): a live page in Chromium logs when each partial and each committed line
appears; printed: spoken → visible p50/p95 (partial, committed line), picture behind the
source (median), and caption cue start vs the line's first word on the media timeline.

Phase 2 (audience): the home, sitting and search pages are timed one request at a time with
no viewers (the baseline, same run), then again while ``--viewers`` simulated viewers (each
polling the edge and subtitle playlists and the live-state file with conditional GETs every
2 s, and fetching each new media and VTT segment) and ``--idle`` idle sockets load the server.
Printed: each page's p95 under load against its idle p95 (goal ≤ 2×), errors, requests/s
served and server CPU per viewer.

    python bench/live.py [--viewers 500] [--idle 200] [--seconds 30] [--model base]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import m3u8  # noqa: E402

from sanarip.pipeline import JobKind  # noqa: E402
from tests.services import end_process, free_port, wait_for_port  # noqa: E402
from tests.streams import HlsPublisher, http_folder, make_clip  # noqa: E402

SANARIP = str(Path(sys.executable).parent / "sanarip")
SPEECH = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata")) / \
    "en/librivox_shakespeare_sonnet001.wav"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def cli(*args: str, env: dict) -> str:
    return subprocess.run([SANARIP, *args], env=env, check=True, capture_output=True, text=True).stdout


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children (gunicorn's master and workers)."""
    total = 0.0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


LOGGER = """() => {
  window.benchLog = [];
  const list = document.getElementById('transcript');
  new MutationObserver(() => {
    const now = Date.now();
    for (const li of list.querySelectorAll('li.seg')) {
      if (li.classList.contains('partial')) continue;
      if (li.dataset.logged) continue;
      li.dataset.logged = '1';
      window.benchLog.push({kind: 'line', cue: li.dataset.cue, t: now});
    }
  }).observe(list, {childList: true, subtree: true, characterData: true});
  window.benchPicture = [];
  setInterval(() => {
    const h = window.sanaripHls;
    if (h && h.playingDate) window.benchPicture.push(Date.now() - h.playingDate.getTime());
  }, 1000);
}"""


def latency_phase(base: str, sitting: int, seconds: float) -> dict:
    """Open the live page; log partials (from the live-state file) and committed lines with their times."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM

    partial_seen: dict[float, float] = {}  # partial start (media s) → first time visible (ms)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page()
        page.goto(f"{base}/live/{sitting}")
        page.evaluate(LOGGER)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = page.evaluate("""() => { const li = document.querySelector('#transcript li.partial');
                return li && li.isConnected ? li.textContent : null; }""")
            if shown:
                state = page.evaluate("() => fetch(document.getElementById('live').dataset.state, "
                                      "{cache: 'no-cache'}).then((r) => r.json())")
                if state.get("partial"):
                    partial_seen.setdefault(state["partial"]["start"], time.time() * 1000)
            time.sleep(0.2)
        log = page.evaluate("window.benchLog")
        picture = page.evaluate("window.benchPicture")
        cues = page.evaluate("""() => { const h = window.sanaripHls;
            const frag = h.levels[0].details.fragments[0];
            const t = Array.from(document.getElementById('player').textTracks).find((x) => x.cues && x.cues.length);
            return {sn: frag.sn, start: frag.start,
                    cues: t ? Array.from(t.cues).map((c) => ({id: c.id, start: c.startTime})) : []}; }""")
        browser.close()
    return {"partials": partial_seen, "lines": log, "picture": picture, "cues": cues}


def viewer_load(base: str, sitting: int, viewers: int, seconds: float, stop: threading.Event,
                counts: dict) -> list[threading.Thread]:
    """``viewers`` players over 50 keep-alive connections, each polling at the player's cadence."""
    host, port = base.removeprefix("http://").split(":")
    prefix = f"/media/sittings/{sitting}/"
    threads = []

    def run(share: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        etags: list[dict[str, str]] = [{} for _ in range(share)]
        seen: list[set[str]] = [set() for _ in range(share)]

        def get(path: str, etag: dict | None = None) -> bytes:
            nonlocal conn
            headers = {"If-None-Match": etag[path]} if etag is not None and path in etag else {}
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                counts["errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                return b""
            counts["requests"] += 1
            if resp.status >= 400:
                counts["errors"] += 1
            if etag is not None and resp.getheader("ETag"):
                etag[path] = resp.getheader("ETag")
            return body if resp.status == 200 else b""

        while not stop.is_set():
            began = time.monotonic()
            for v in range(share):
                for name, folder in (("edge.m3u8", ""), ("subs/live.m3u8", "subs/")):
                    body = get(prefix + name, etags[v])
                    if body:
                        for seg in m3u8.loads(body.decode()).segments[-1:]:  # the newest segment, once
                            if seg.uri not in seen[v]:
                                seen[v].add(seg.uri)
                                get(prefix + folder + seg.uri)
                get(prefix + "live.json", etags[v])
            stop.wait(max(0.0, 2.0 - (time.monotonic() - began)))
        conn.close()

    per = [viewers // 50 + (1 if i < viewers % 50 else 0) for i in range(50)]
    for share in per:
        t = threading.Thread(target=run, args=(share,), daemon=True)
        t.start()
        threads.append(t)
    return threads


def probe_pages(base: str, sitting: int, seconds: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"home": [], "sitting": [], "search": []}
    urls = {"home": "/", "sitting": f"/s/{sitting}", "search": "/search?q=beauty"}
    deadline = time.monotonic() + seconds
    errors = 0
    while time.monotonic() < deadline:
        for name, path in urls.items():
            began = time.monotonic()
            try:
                with urllib.request.urlopen(base + path, timeout=30) as resp:
                    resp.read()
            except OSError:
                errors += 1
                continue
            out[name].append(time.monotonic() - began)
    out["errors"] = [errors]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_MODEL=args.model, SANARIP_SECRET_KEY="bench")
    cli("committee", "add", "budget", "--name", "Budget committee", "--language", "en", env=env)
    clip = make_clip(tmp / "clip.mp4", 53, SPEECH, gop=1.0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([SANARIP, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    live_worker = subprocess.Popen([SANARIP, "worker", "--kinds", JobKind.LIVE.value], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pub = HlsPublisher(clip, tmp / "src", segment=1.0, loop=True)
    total = 70 + 3 * args.seconds
    try:
        with http_folder(tmp / "src") as src:
            pub.start()
            time.sleep(3)
            recorder = subprocess.Popen([SANARIP, "record", f"{src}/live.m3u8", "--committee", "budget",
                                         "--duration", str(total)], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
            sitting = int(recorder.stdout.readline())
            wait_for_port(port, proc=server)
            time.sleep(8)
            lat = latency_phase(base, sitting, 55)
            idle_pages = probe_pages(base, sitting, args.seconds)
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            time.sleep(5)
            idle_cpu = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - t0)
            idle_socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
            stop, counts = threading.Event(), {"requests": 0, "errors": 0}
            threads = viewer_load(base, sitting, args.viewers, args.seconds, stop, counts)
            time.sleep(4)  # the first round of every viewer
            req0, cpu0, t0 = counts["requests"], cpu_seconds(server.pid), time.monotonic()
            loaded_pages = probe_pages(base, sitting, args.seconds)
            elapsed = time.monotonic() - t0
            load_cpu = (cpu_seconds(server.pid) - cpu0) / elapsed
            served = (counts["requests"] - req0) / elapsed
            stop.set()
            for t in threads:
                t.join(15)
            for s in idle_socks:
                s.close()
            end_process(recorder)
            with urllib.request.urlopen(f"{base}/live/{sitting}/segments?after=-1") as resp:
                import json

                rows = {str(r["id"]): r for r in json.loads(resp.read())["segments"]}
            with urllib.request.urlopen(f"{base}/media/sittings/{sitting}/live.m3u8") as resp:
                event = m3u8.loads(resp.read().decode())
    finally:
        pub.kill()
        end_process(live_worker)
        end_process(server)
    # Clocks: media time m of the sitting was at the source's PDT (first segment's PDT) + m.
    first_pdt = event.segments[0].program_date_time.timestamp() * 1000
    partial = [t - (first_pdt + start * 1000) for start, t in lat["partials"].items()]
    lines = [e["t"] - (first_pdt + rows[e["cue"]]["end"] * 1000) for e in lat["lines"] if e["cue"] in rows]
    line_start = [e["t"] - (first_pdt + rows[e["cue"]]["start"] * 1000) for e in lat["lines"] if e["cue"] in rows]
    durations = [s.duration for s in event.segments]
    offset = sum(durations[:lat["cues"]["sn"]]) - lat["cues"]["start"]
    cue_error = [abs(c["start"] + offset - rows[c["id"]]["start"]) for c in lat["cues"]["cues"] if c["id"] in rows]
    print("bench/live.py — one run, 2 shared cores, 127.0.0.1; media served by the app (gunicorn), not nginx")
    print(f"model {args.model}; source: 1 s keyframes, 1 s source segments; sitting segments "
          f"{statistics.median(durations):.2f} s median")
    print(f"spoken → visible as partial (first word of the partial): n={len(partial)} "
          f"p50 {pct(partial, 0.5) / 1000:.2f} s, p95 {pct(partial, 0.95) / 1000:.2f} s (goal ≤ 4 s)")
    print(f"spoken (line's last word) → committed line visible: n={len(lines)} p50 {pct(lines, 0.5) / 1000:.2f} s, "
          f"p95 {pct(lines, 0.95) / 1000:.2f} s (goal ≤ 8 s); from the line's first word: "
          f"p95 {pct(line_start, 0.95) / 1000:.2f} s")
    print(f"picture behind the source: median {statistics.median(lat['picture'] or [float('nan')]) / 1000:.2f} s "
          f"(n={len(lat['picture'])}, goal ≤ 10 s)")
    print(f"caption cue start vs the line's first word on the media timeline: max {max(cue_error or [0]):.3f} s "
          f"over {len(cue_error)} cues (goal ≤ 0.5 s)")
    for name in ("home", "sitting", "search"):
        idle95, load95 = pct(idle_pages[name], 0.95), pct(loaded_pages[name], 0.95)
        print(f"{name} page p95: idle {idle95 * 1000:.1f} ms, with {args.viewers} viewers + {args.idle} idle sockets "
              f"{load95 * 1000:.1f} ms = {load95 / idle95:.2f}× (goal ≤ 2×; n={len(loaded_pages[name])})")
    print(f"errors: viewers {counts['errors']}, page probes {loaded_pages['errors'][0]}")
    print(f"viewer requests served: {served:.0f}/s (a viewer at the player's cadence asks ~3 per 2 s)")
    print(f"server CPU: idle {idle_cpu * 100:.1f}% of a core, loaded {load_cpu * 100:.1f}%; "
          f"per viewer {(load_cpu - idle_cpu) / args.viewers * 1000:.2f} ms CPU per second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
