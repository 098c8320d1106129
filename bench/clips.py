"""Clip figures (issue 25), one run: the time to make the MP4 of a 1, 5 and 15-minute range of a
recorded sitting, as a fraction of the range (goal <= 0.2 with soft subtitles; burned-in captions
reported separately), and against a bare ffmpeg re-encode of the same range from the same playlist
measured in the same run (the product's own overhead: segment selection, subtitles, storage).

The sitting is a synthetic recording (test pattern + real speech looped) imported as usual, with
one transcript line every 5 s.

    python bench/clips.py [--size 1280x720] [--fps 25] [--minutes 1 5 15] [--captions soft burn]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import worker  # noqa: E402
from ingest.clips import PRESET, make_clip  # noqa: E402
from ingest.importer import register  # noqa: E402
from ingest.media import ffmpeg_exe  # noqa: E402
from sanarip.catalog import add_committee  # noqa: E402
from sanarip.clips import ClipRange  # noqa: E402
from sanarip.config import load_settings  # noqa: E402
from sanarip.medialayout import vod_playlist_key  # noqa: E402
from sanarip.pipeline import JobKind  # noqa: E402
from sanarip.runtime import Runtime  # noqa: E402
from sanarip.stenogram import Segment  # noqa: E402
from sanarip.transcripts import replace_automatic  # noqa: E402

TESTDATA = Path(os.environ.get("SANARIP_TESTDATA", ROOT.parent / "shared" / "testdata"))


def source_video(path: Path, seconds: float, size: str, fps: int) -> Path:
    speech = TESTDATA / "en" / "jfk.flac"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
                    "-stream_loop", "-1", "-i", str(speech), "-t", str(seconds), "-map", "0:v", "-map", "1:a",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", str(2 * fps), "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "96k", str(path)], check=True)
    return path


def bare(rt: Runtime, sitting: int, rng: ClipRange, out: Path) -> float:
    """The same re-encode straight from the sitting's VOD playlist, nothing else."""
    started = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-ss", f"{rng.start:.3f}",
                    "-i", str(rt.storage.path(vod_playlist_key(sitting))), "-t", f"{rng.duration:.3f}",
                    "-c:v", "libx264", "-preset", PRESET, "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-b:a", "96k", "-movflags", "+faststart", str(out)], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 15])
    parser.add_argument("--captions", nargs="+", choices=["soft", "burn"], default=["soft", "burn"],
                        help="which clips to make: soft subtitles (with the bare ffmpeg baseline), burned-in captions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanarip-bench-clips-") as tmp_name:
        tmp = Path(tmp_name)
        rt = Runtime(load_settings({"SANARIP_DATA_DIR": str(tmp / "data"), "SANARIP_SECRET_KEY": "bench"}))
        rt.db.upgrade()
        length = max(args.minutes) * 60 + 30
        print(f"source: {length / 60:.1f} min of {args.size} at {args.fps} fps (x264 {PRESET}, 2 s GOP)", flush=True)
        source = source_video(tmp / "source.mp4", length, args.size, args.fps)
        with rt.db.session() as s:
            add_committee(s, "bench", "Bench")
        sitting, _ = register(rt, source, "bench", "Bench sitting", None)
        worker.run_inline(rt, JobKind.IMPORT, {"sitting": sitting})
        with rt.db.session() as s:
            replace_automatic(s, sitting, [Segment(t, t + 5.0, f"Line at {t:.0f} s: бюджет, комитет.")
                                           for t in range(0, int(length) - 5, 5)])
        for minutes in args.minutes:
            rng = ClipRange(10.0, 10.0 + minutes * 60)
            for burn in [kind == "burn" for kind in args.captions]:
                started = time.perf_counter()
                make_clip(rt, sitting, rng, burn)
                took = time.perf_counter() - started
                label = "burned-in captions" if burn else "soft subtitles"
                line = f"{minutes:g} min clip, {label}: {took:.1f} s = {took / rng.duration:.3f} of the range"
                if not burn:
                    base = bare(rt, sitting, rng, tmp / f"bare-{minutes:g}.mp4")
                    line += f" (goal <= 0.2); bare ffmpeg {base:.1f} s, product / bare = {took / base:.2f}"
                print(line, flush=True)
        rt.close()


if __name__ == "__main__":
    main()
