"""Ingest figures, one run:

* simultaneous 720p/30 fps recordings this machine sustains with zero dropped segments, and
  the CPU share per stream (worker + its ffmpeg children). One clip is encoded once and
  republished N times with ``-re -stream_loop -1 -c copy`` (no encoding while measuring);
* live latency: from a source segment's publication (its EXT-X-PROGRAM-DATE-TIME end) until
  our live playlist lists the segment that contains it (goal: one segment duration + 1 s).

    python bench/ingest.py [--streams 4 8 16] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from ingest.media import ffmpeg_exe  # noqa: E402
from sanarip.config import load_settings  # noqa: E402
from sanarip.models import MediaSegment, Sitting  # noqa: E402
from sanarip.pipeline import JobKind  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from sanarip.sittings import SittingStatus  # noqa: E402
from tests.streams import HlsPublisher, http_folder  # noqa: E402

SANARIP = str(Path(sys.executable).parent / "sanarip")


def clip_720p(path: Path) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=30:duration=20", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=20", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2500k",
                    "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(path)], check=True)
    return path


def run(n: int, seconds: int, clip: Path, tmp: Path) -> tuple[bool, float, list[float]]:
    """Record n streams for ``seconds``; (no drops?, CPU share per stream, live latencies)."""
    data = tmp / f"data-{n}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANARIP_")}
    env.update(SANARIP_DATA_DIR=str(data), SANARIP_RECONNECT_GRACE="30")
    subprocess.run([SANARIP, "committee", "add", "budget", "--name", "Budget"], env=env, check=True,
                   capture_output=True)
    publishers = [HlsPublisher(clip, tmp / f"src-{n}" / f"s{i}", loop=True) for i in range(n)]
    rt = Runtime(load_settings(env))
    with http_folder(tmp / f"src-{n}") as base:
        for pub in publishers:
            pub.start()
        time.sleep(4)
        start = datetime.now(UTC)
        ids = [int(subprocess.run([SANARIP, "schedule", "add", "--committee", "budget", "--start", start.isoformat(),
                                   "--end", (start + timedelta(seconds=seconds)).isoformat(), "--source",
                                   f"{base}/s{i}/live.m3u8"], env=env, check=True, capture_output=True,
                                  text=True).stdout) for i in range(n)]
        worker = subprocess.Popen([SANARIP, "worker", "--kinds", JobKind.RECORD, "--long-slots", str(n)], env=env,
                                  stderr=subprocess.DEVNULL)
        live_key = rt.storage.path(f"sittings/{ids[0]}/live.m3u8")
        first_seen: dict[str, float] = {}
        deadline = time.monotonic() + seconds + 60
        while time.monotonic() < deadline:
            if live_key.exists():
                for line in live_key.read_text().splitlines():
                    if line.endswith(".ts") and line not in first_seen:
                        first_seen[line] = time.time()
            with rt.db.session(readonly=True) as s:
                done = s.scalars(select(Sitting.status).where(Sitting.id.in_(ids))).all()
            if all(st in (SittingStatus.RECORDED, SittingStatus.FAILED) for st in done):
                break
            time.sleep(0.1)
        worker.terminate()
        _, status, usage = os.wait4(worker.pid, 0)
        for pub in publishers:
            pub.kill()
    cpu = usage.ru_utime + usage.ru_stime
    ok = True
    with rt.db.session(readonly=True) as s:
        for sid in ids:
            sitting = s.get(Sitting, sid)
            segs = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sid)))
            gaps = [g for g in segs if g.is_gap]
            if sitting.status != SittingStatus.RECORDED or gaps or sitting.duration < seconds - 2 * 6 - 4:
                ok = False
                print(f"  sitting {sid}: {sitting.status}, {sitting.duration:.1f} s, {len(gaps)} gaps")
        latencies = [first_seen[Path(m.path).name] - m.wall_clock_end.timestamp()
                     for m in s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == ids[0],
                                                                   MediaSegment.is_gap.is_(False)))
                     if Path(m.path).name in first_seen]
    rt.close()
    return ok, cpu / seconds / n, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    with tempfile.TemporaryDirectory() as tmp:
        clip = clip_720p(Path(tmp) / "clip720.mp4")
        best = 0
        for n in args.streams:
            ok, share, lat = run(n, args.seconds, clip, Path(tmp))
            print(f"{n:>2} x 720p30 streams for {args.seconds} s: {'no dropped segments' if ok else 'DROPS'}; "
                  f"CPU per stream {100 * share:.1f}% of a core; live playlist latency median "
                  f"{statistics.median(lat):.1f} s, max {max(lat):.1f} s (goal <= 7 s)", flush=True)
            if ok:
                best = n
        print(f"sustained without drops: {best} simultaneous recordings (goal >= 16)")


if __name__ == "__main__":
    main()
