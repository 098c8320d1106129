"""Live delivery figures, one run on this machine, everything served on 127.0.0.1.

A real ffmpeg publishes a live HLS source (the shared test speech three times over, about
300 s, then on loop: JFK, the LibriVox sonnet, the MFA spontaneous clip and a LibriSpeech line,
1.5 s pauses between, 1 s keyframes, program-date-time; where ffmpeg's loop restarts it drops
a segment and stalls a few seconds, so the timed phase ends before the first restart);
`sanarip record` ingests it, a `sanarip worker --kinds live` drafts it (`base` model by
default), `sanarip serve` (gunicorn, one process) serves the pages and nginx — the README's
documented deployment, when installed — serves the public media folder itself and proxies the
rest (`--no-nginx`: the app serves the media; the figures say which). Clocks: the source's
program-date-time is the truth; a word is "spoken at" the PDT of the sitting segment holding it
(copied from the source's) plus its offset in that segment; "visible" is when Chromium's DOM of
the live page shows it; "picture" is hls.js ``playingDate`` at that moment.

Phase 0 (warm-up): the model loads and the draft's first line is written (not timed).

Phase 1 (latency, ``--latency-seconds``): a live page in Chromium logs when each partial and
each committed line appears; printed: spoken → visible p50/p95 (partial, committed line),
picture behind the source (median), and caption cue start vs the line's first word on the
media timeline.

Phase 2 (audience): the home, sitting and search pages are timed one request at a time with
no viewers (the baseline, same run), then again while ``--viewers`` simulated viewers
(bench/liveload.py: asyncio processes, one keep-alive connection per viewer, each polling the
edge and subtitle playlists with conditional GETs every 2 s, fetching each new media and VTT
segment, and the live-state file every 0.5 s as the live page does) and ``--idle`` idle sockets held open against the
application server (gunicorn itself, not nginx) load the machine. Printed: each page's p95
under load against its idle p95 (goal ≤ 2×), errors, requests/s served and server CPU
(gunicorn + nginx) per viewer, and the load generator's own CPU (it shares the 2 cores).

    python bench/live.py [--viewers 500] [--idle 200] [--seconds 30] [--model base] [--no-nginx]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import m3u8  # noqa: E402
from liveload import NOT_MODIFIED, Audience, LoadSpec  # noqa: E402
from nginxfront import start_nginx  # noqa: E402

from ingest.media import ffmpeg_exe  # noqa: E402
from tests.services import end_process, free_port, wait_for_port  # noqa: E402
from tests.streams import live_chain, make_clip  # noqa: E402

SANARIP = str(Path(sys.executable).parent / "sanarip")
TESTDATA = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata"))
SPEECH = ["en/jfk.flac", "en/librivox_shakespeare_sonnet001.wav", "en/mfa_acoustic_corpus_spontaneous.wav",
          "en/librispeech_test-clean_61-70968-0000.flac"]
PAUSE = 1.5  # seconds of silence after each recording: a speaker's pause, where lines end
REPEAT = 3  # the speech this many times over: the warm-up and latency phase end before ffmpeg loops


def speech_track(out: Path) -> tuple[Path, float]:
    """The shared English speech joined ``REPEAT`` times into one 16 kHz mono WAV with pauses; (path, seconds)."""
    inputs, chains = [], []
    names = SPEECH * REPEAT
    for i, name in enumerate(names):
        inputs += ["-i", str(TESTDATA / name)]
        chains.append(f"[{i}:a]aresample=16000,aformat=channel_layouts=mono,apad=pad_dur={PAUSE}[a{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[a{i}]" for i in range(len(names))) + \
        f"concat=n={len(names)}:v=0:a=1[out]"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[out]", "-c:a", "pcm_s16le", str(out)], check=True)
    with wave.open(str(out)) as wav:
        return out, wav.getnframes() / wav.getframerate()


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


LOGGER = r"""() => {
  window.benchLog = [];
  document.addEventListener('DOMContentLoaded', () => {
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
  });
  // A partial's first word is visible once the live page has shown that partial (live.js fires
  // "sanarip:livestate" just before it renders the document). A partial whose opening words the
  // previous one already showed (its older words went into a line) shows no new speech: skipped,
  // and so is any later partial of the same start (one word shown, then "Thanks. He…").
  window.benchPartials = {};
  const skipped = new Set();  // starts of partials whose opening words were already on screen
  const opened = Date.now();  // what is on screen when the page opens was not just spoken: skipped
  let shownText = '';
  const words = (t) => t.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, '').split(/\s+/).filter(Boolean);
  document.addEventListener('sanarip:livestate', (ev) => {
    const p = ev.detail && ev.detail.partial;
    setTimeout(() => {
      const li = document.querySelector('#transcript li.partial');
      if (!p || !li || !li.isConnected) return;
      const head = words(p.text).slice(0, 2).join(' ');
      const seen = head && (' ' + words(shownText).join(' ') + ' ').includes(' ' + head + ' ');
      if (seen || Date.now() - opened <= 3000) skipped.add(p.start);
      else if (!skipped.has(p.start) && !(p.start in window.benchPartials)) {
        window.benchPartials[p.start] = {t: Date.now(), text: p.text, written: Date.parse(ev.detail.updated_at)};
      }
      shownText = p.text;
    }, 0);
  });
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

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page()
        page.add_init_script(f"({LOGGER})()")  # before live.js runs: its first live-state event counts
        with urllib.request.urlopen(f"{base}/live/{sitting}/segments?after=-1", timeout=10) as resp:
            before = {str(r["id"]) for r in json.loads(resp.read())["segments"]}  # the window's old lines
        page.goto(f"{base}/live/{sitting}")
        time.sleep(seconds)
        partial_seen = {float(k): v for k, v in page.evaluate("window.benchPartials").items()}
        log = [e for e in page.evaluate("window.benchLog") if e["cue"] not in before]
        picture = page.evaluate("window.benchPicture")
        # Player time ↔ media time through a fragment hls.js has loaded (its start comes from the
        # segment's PTS); the window's first fragment was never loaded, its start is an estimate.
        cues = page.evaluate("""() => { const h = window.sanaripHls;
            const frags = h.levels[0].details.fragments;
            const frag = frags.filter((f) => Number.isFinite(f.startPTS)).pop() || frags[0];
            const t = Array.from(document.getElementById('player').textTracks).find((x) => x.cues && x.cues.length);
            return {sn: frag.sn, start: frag.start,
                    cues: t ? Array.from(t.cues).map((c) => ({id: c.id, start: c.startTime})) : []}; }""")
        browser.close()
    return {"partials": partial_seen, "lines": log, "picture": picture, "cues": cues}


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


def wait_for_draft(base: str, sitting: int, timeout: float) -> float:
    """Seconds until the live draft has written its first line (the model loads first)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            with urllib.request.urlopen(f"{base}/live/{sitting}/segments?after=-1", timeout=10) as resp:
                if json.loads(resp.read())["segments"]:
                    return time.monotonic() - began
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"the live draft wrote no line in {timeout:.0f} s (model {os.environ.get('SANARIP_MODEL')})")


def media_server(front: str, sitting: int) -> str:
    """Who answers a public media request (``Server`` header) and with what status."""
    with urllib.request.urlopen(f"{front}/media/sittings/{sitting}/edge.m3u8", timeout=10) as resp:
        text = resp.read().decode()
        server = resp.headers.get("Server", "?")
    seg = m3u8.loads(text).segments[-1].uri
    with urllib.request.urlopen(f"{front}/media/sittings/{sitting}/{seg}", timeout=10) as resp:
        return f"{server}, {resp.status} for {seg} (Cache-Control: {resp.headers.get('Cache-Control')})"


def tree_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def main() -> int:  # noqa: C901 - one run, phase after phase
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="each page-timing phase")
    parser.add_argument("--latency-seconds", type=float, default=240.0, help="under the ~300 s of speech")
    parser.add_argument("--warmup", type=float, default=240.0, help="most seconds to wait for the first line")
    parser.add_argument("--model", default="base")
    parser.add_argument("--load-procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--no-nginx", action="store_true", help="let the app serve the media")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    tmp.chmod(0o755)  # nginx's workers (www-data) traverse it to the media folder, like /var/lib/sanarip
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    # The model is assembled once into the user's cache (not per run); probes must not hit the rate limits.
    env.update(SANARIP_DATA_DIR=str(tmp / "data"), SANARIP_MODEL=args.model, SANARIP_SECRET_KEY="bench",
               SANARIP_MODEL_CACHE=os.environ.get("SANARIP_MODEL_CACHE",
                                                  str(Path.home() / ".cache" / "sanarip" / "models")),
               SANARIP_SEARCH_RATE_LIMIT="0", SANARIP_API_RATE_LIMIT="0")
    os.environ["SANARIP_MODEL"] = args.model
    cli("committee", "add", "budget", "--name", "Budget committee", "--language", "en", env=env)
    speech, seconds = speech_track(tmp / "speech.wav")
    clip = make_clip(tmp / "clip.mp4", round(seconds, 2), speech, gop=1.0)
    port = free_port()
    app = f"http://127.0.0.1:{port}"
    nginx = None if args.no_nginx else start_nginx(tmp / "nginx", free_port(), port, tmp / "data" / "media")
    if nginx is not None:
        env["SANARIP_TRUSTED_PROXIES"] = "1"
        front_port = int((tmp / "nginx" / "nginx.conf").read_text().split("listen 127.0.0.1:")[1].split()[0])
    else:
        front_port = port
    front = f"http://127.0.0.1:{front_port}"
    audience = None
    try:
        with live_chain(tmp / "src", clip, env, duration=3600, warm_up=0, port=port) as chain:
            sitting, server, recorder = chain.sitting, chain.server, chain.recorder
            if nginx is not None:
                wait_for_port(front_port, proc=nginx)
            warm = wait_for_draft(app, sitting, args.warmup)
            time.sleep(15)  # the draft's first passes catch up the chunks that arrived while the model loaded
            served_by = media_server(front, sitting)
            lat = latency_phase(front, sitting, args.latency_seconds)
            idle_pages = probe_pages(front, sitting, args.seconds)
            server_pids = [server.pid] + ([nginx.pid] if nginx else [])
            cpu0, t0 = tree_cpu(server_pids), time.monotonic()
            time.sleep(5)
            idle_cpu = (tree_cpu(server_pids) - cpu0) / (time.monotonic() - t0)
            audience = Audience(LoadSpec("127.0.0.1", front_port, f"/media/sittings/{sitting}/", args.viewers,
                                         idle_port=port, idle=args.idle), processes=args.load_procs)
            audience.start()
            time.sleep(6)  # every viewer's first round, every idle socket open
            c0, cpu0, gen0, t0 = audience.totals(), tree_cpu(server_pids), tree_cpu(audience.pids), time.monotonic()
            loaded_pages = probe_pages(front, sitting, args.seconds)
            elapsed = time.monotonic() - t0
            c1 = audience.totals()
            load_cpu = (tree_cpu(server_pids) - cpu0) / elapsed
            gen_cpu = (tree_cpu(audience.pids) - gen0) / elapsed
            audience.stop()
            end_process(recorder)
            with urllib.request.urlopen(f"{app}/live/{sitting}/segments?after=-1") as resp:
                rows = {str(r["id"]): r for r in json.loads(resp.read())["segments"]}
            with urllib.request.urlopen(f"{app}/media/sittings/{sitting}/live.m3u8") as resp:
                event = m3u8.loads(resp.read().decode())
    finally:
        if audience is not None:
            audience.stop()
        if nginx is not None:
            end_process(nginx)
    report(args, lat, rows, event, idle_pages, loaded_pages, c0, c1, elapsed, idle_cpu, load_cpu, gen_cpu,
           warm, served_by, seconds, nginx is not None)
    return 0


def report(args, lat, rows, event, idle_pages, loaded_pages, c0, c1, elapsed, idle_cpu, load_cpu, gen_cpu,
           warm, served_by, seconds, with_nginx) -> None:
    # Clocks: media time m was spoken at the source PDT of the segment holding m, plus m's offset in
    # it (a gap in the source, as where its loop restarts, moves PDT on but not media time).
    durations = [s.duration for s in event.segments]
    starts = [sum(durations[:i]) for i in range(len(durations))]
    pdts = [s.current_program_date_time.timestamp() * 1000 for s in event.segments]

    def spoken(m: float) -> float:
        i = max(0, bisect.bisect_right(starts, m) - 1)
        return pdts[i] + (m - starts[i]) * 1000

    slow = sorted(((e["t"] - spoken(start), e["text"]) for start, e in lat["partials"].items()), reverse=True)
    partial = [ms for ms, _text in slow]
    # Where a partial's time goes: until the live job wrote the live-state file, then until the page showed it.
    produced = sorted(e["written"] - spoken(start) for start, e in lat["partials"].items())
    delivered = sorted(e["t"] - e["written"] for e in lat["partials"].values())
    lines = [e["t"] - spoken(rows[e["cue"]]["end"]) for e in lat["lines"] if e["cue"] in rows]
    line_start = [e["t"] - spoken(rows[e["cue"]]["start"]) for e in lat["lines"] if e["cue"] in rows]
    offset = sum(durations[:lat["cues"]["sn"]]) - lat["cues"]["start"]
    cue_error = [abs(c["start"] + offset - rows[c["id"]]["start"]) for c in lat["cues"]["cues"] if c["id"] in rows]
    who = "nginx served the media (app behind it for pages)" if with_nginx else "the app (gunicorn) served the media"
    print(f"bench/live.py — one run, 2 shared cores, 127.0.0.1; {who}; media answered by: {served_by}")
    print(f"model {args.model}; speech {seconds:.1f} s ({REPEAT}× the shared clips), then on loop; "
          "source: 1 s keyframes, 1 s source segments; "
          f"sitting segments {statistics.median(durations):.2f} s median; first draft line after {warm:.0f} s")
    print(f"spoken → visible as partial (first word of the partial): n={len(partial)} "
          f"p50 {pct(partial, 0.5) / 1000:.2f} s, p95 {pct(partial, 0.95) / 1000:.2f} s (goal ≤ 4 s); slowest: "
          + "; ".join(f"{ms / 1000:.1f} s {text[:40]!r}" for ms, text in slow[:3]))
    print(f"  of which spoken → live-state file written p50 {pct(produced, 0.5) / 1000:.2f} s, "
          f"p95 {pct(produced, 0.95) / 1000:.2f} s; written → shown p50 {pct(delivered, 0.5) / 1000:.2f} s, "
          f"p95 {pct(delivered, 0.95) / 1000:.2f} s (the page polls it every 0.5 s)")
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
    requests, errors, sent = (c1[i] - c0[i] for i in range(3))
    print(f"errors: viewers {errors:.0f} (of {requests:.0f} requests), page probes idle {idle_pages['errors'][0]}, "
          f"loaded {loaded_pages['errors'][0]}; idle sockets closed by the server (idle timeout) and reopened: "
          f"{c1[4] - c0[4]:.0f}")
    not_modified = (c1[NOT_MODIFIED] - c0[NOT_MODIFIED]) / elapsed
    print(f"viewer requests served: {requests / elapsed:.0f}/s ({not_modified:.0f}/s 304), "
          f"{sent / elapsed / 1e6:.2f} MB/s; a viewer at the player's cadence asks ~4/s")
    print(f"server CPU (gunicorn{' + nginx' if with_nginx else ''}): idle {idle_cpu * 100:.1f}% of a core, loaded "
          f"{load_cpu * 100:.1f}%; per viewer {(load_cpu - idle_cpu) / args.viewers * 1000:.2f} ms CPU per second; "
          f"load generator {gen_cpu * 100:.1f}% of a core ({args.load_procs} processes)")
    print(f"machine load: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    sys.exit(main())
