"""`make demo`: a simulated committee livestream through the whole pipeline on the embedded defaults.

It starts, all on 127.0.0.1: a synthesized Russian/English sitting published as live HLS,
a recording worker (record + live draft), a processing worker (final pass + indexing) and
the web server, then prints the URLs and follows the sitting: live → recorded → transcribed
and searchable. Ctrl-C stops everything (children die with this process in any case).

Options: --port N (default 8080, or a free one), --repeat N (a longer sitting),
--speech FILE (use a recording instead of synthesized speech), --exit-when-done (stop once
the sitting is searchable: for tests and benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.simulate import SCRIPT, make_sitting_video, publish_hls, write_speech  # noqa: E402
from sanarip import procs  # noqa: E402
from sanarip.config import load_settings  # noqa: E402
from sanarip.sittings import SittingStatus  # noqa: E402

BIN = Path(sys.executable).parent
SANARIP = str(BIN / "sanarip")


def say(message: str) -> None:
    print(f"[demo {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def free_port(preferred: int) -> int:
    """``preferred`` when a server can listen on it, else any free port. The probe binds as the web
    server does (SO_REUSEADDR), so a quick re-run keeps the port its last run's closed sockets linger on."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]


def sitting_title(now: datetime, tz: tzinfo) -> str:
    """The demo sitting's name, in the configured zone (SANARIP_TIMEZONE) like every date people read."""
    return f"Demo sitting {now.astimezone(tz).strftime('%Y-%m-%d %H:%M')}"


def stop_on_signals() -> None:
    """SIGINT and SIGTERM end the demo cleanly, also when it was started in the background, where
    the shell hands it SIGINT ignored (and Python then installs no KeyboardInterrupt for it)."""
    def shutdown(*_args) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)


def end_live_sittings(env: dict[str, str]) -> None:
    """A sitting of an earlier run left live (the demo killed) is ended before anything records."""
    for st in json.loads(cli("sitting", "list", "--json", env=env)):
        if st["status"] == SittingStatus.LIVE:
            say(f"sitting {st['id']} was left live by an earlier run: {cli('stop', str(st['id']), env=env).strip()}")


def cli(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([SANARIP, *args], env=env, check=True, capture_output=True, text=True).stdout


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--speech", type=Path, help="a speech recording to use instead of synthesis")
    parser.add_argument("--exit-when-done", action="store_true")
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("SANARIP_DATA_DIR", str(ROOT / "data"))
    data = Path(env["SANARIP_DATA_DIR"])
    stop_on_signals()
    cli("init", env=env)
    end_live_sittings(env)
    committees = json.loads(cli("committee", "list", "--json", env=env))
    if not any(c["slug"] == "budget" for c in committees):
        cli("committee", "add", "budget", "--name", "Committee on budget and finance", "--language", "ru",
            "--name-ky", "Бюджет жана финансы комитети", "--name-ru", "Комитет по бюджету и финансам",
            "--name-en", "Committee on budget and finance", "--fallback-language", "ru", env=env)

    work = data / "demo"
    work.mkdir(parents=True, exist_ok=True)
    if args.speech:
        video = make_sitting_video(args.speech, work / "sitting-given.mp4")
    else:
        video = work / f"sitting-x{args.repeat}.mp4"
        if not video.exists():
            say("synthesizing the sitting (eSpeak NG) …")
            write_speech(work / "speech.wav", SCRIPT * args.repeat)
            make_sitting_video(work / "speech.wav", video)
    from ingest.media import probe

    duration = probe(str(video)).duration or 60.0

    port = free_port(args.port)
    children: list[subprocess.Popen] = []

    def start(*cmd: str) -> subprocess.Popen:
        proc = procs.spawn([SANARIP, *cmd], env=env, stdin=subprocess.DEVNULL)
        children.append(proc)
        return proc

    sitting: int | None = None
    try:
        start("serve", "--port", str(port))
        start("worker", "--kinds", "record,live", "--long-slots", "4")
        start("worker", "--kinds", "transcribe,diarize,index,import,learn_voice", "--concurrency", "1")
        with publish_hls(video, work / "stream") as (url, publisher):
            say(f"stream started at {time.time():.3f}")
            time.sleep(2)
            now = datetime.now(UTC)
            title = sitting_title(now, load_settings(env).tz)
            sitting = int(cli("schedule", "add", "--committee", "budget", "--title", title,
                              "--start", now.isoformat(), "--end", (now + timedelta(seconds=duration + 3)).isoformat(),
                              "--source", url, env=env))
            base = f"http://127.0.0.1:{port}"
            say(f"stream {url} is live; sitting {sitting}")
            say(f"open {base}/  (live page: {base}/live/{sitting})")
            follow(base, sitting, args.exit_when_done, publisher)
        return 0
    except KeyboardInterrupt:
        say("stopping …")
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(signum, signal.SIG_IGN)
        if sitting is not None:
            stop_sitting(sitting, env, wait=10)
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in children:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if sitting is not None:
            stop_sitting(sitting, env, wait=0)  # the workers are gone: ends it now if still live
        say("stopped")


def stop_sitting(sitting: int, env: dict[str, str], wait: float) -> None:
    """End the recording, so that the sitting is never left live: the recorder finishes it while
    a worker runs; with none left, `sanarip stop` ends it at once (recorded, with a gap)."""
    deadline = time.monotonic() + wait
    try:
        cli("stop", str(sitting), env=env)
        while time.monotonic() < deadline:
            if json.loads(cli("sitting", "show", str(sitting), "--json", env=env))["status"] != SittingStatus.LIVE:
                return
            time.sleep(0.5)
    except subprocess.CalledProcessError:
        return  # not live (any more)


def follow(base: str, sitting: int, exit_when_done: bool, publisher: subprocess.Popen) -> None:
    """Print the sitting's progress; return when searchable (or keep serving until Ctrl-C)."""
    seen_status, seen_lines, searchable, stream_over = None, 0, False, False
    while True:
        if not stream_over and publisher.poll() is not None:
            stream_over = True
            say(f"stream ended at {time.time():.3f}")
        try:
            info = get_json(f"{base}/api/v1/sittings/{sitting}")
            lines = len(get_json(f"{base}/live/{sitting}/segments?after=-1")["segments"])
        except OSError:
            time.sleep(1)
            continue
        if info["status"] != seen_status:
            seen_status = info["status"]
            say(f"sitting {sitting}: {seen_status}")
        if lines != seen_lines and seen_status == SittingStatus.LIVE:
            say(f"live transcript: {lines} lines")
        seen_lines = lines
        if seen_status in (SittingStatus.TRANSCRIBED, SittingStatus.FAILED) and not searchable:
            steno = get_json(f"{base}/api/v1/sittings/{sitting}/transcript")["segments"]
            word = next((w for s in steno for w in s["text"].split() if len(w.strip(".,")) > 6), None)
            if word:
                q = urllib.parse.quote(word.strip(".,"))
                hits = get_json(f"{base}/api/v1/search?q={q}&committee=budget")
                final_ids = {s["id"] for s in steno}
                if any(h["sitting"] == sitting and h["segment"] in final_ids for h in hits["items"]):
                    searchable = True
                    say(f"searchable at {time.time():.3f}: {base}/search?q={q}")
                    if exit_when_done:
                        return
        if seen_status == SittingStatus.FAILED and exit_when_done:
            return
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
