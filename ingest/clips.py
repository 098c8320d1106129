"""The ``clip`` job: an MP4 of a range of a sitting, cut by ffmpeg from its stored HLS segments.

Only the segments that overlap the range are read (from S3 too), through a small local playlist
so ffmpeg's HLS reader keeps their timestamps and discontinuities. The cut is frame-accurate at
both ends. With soft subtitles the video is cut by ``ingest.smartcut``: only the frames before
the range's first keyframe (and the last GOP's, when reordered) are re-encoded, the GOPs between
are copied, so a clip costs about the same at any length. Burned-in captions, H.264-less video
and ranges that span a discontinuity re-encode the whole range. The audio is always re-encoded
from the range's first sample (cheap, and it starts where the video's first frame is placed).
The range's transcript rides along as a soft subtitle track (``mov_text``); with ``burn`` the
lines are also drawn into the picture with the speaker's name (libass, DejaVu Sans: Cyrillic
and Latin).
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

import av
from sqlalchemy import select

from ingest.media import MediaError, ffmpeg_exe
from ingest.smartcut import CannotSmartCut, smart_cut
from sanarip.clips import ClipRange, clip_key, clip_subtitles
from sanarip.jobs import JobContext
from sanarip.medialayout import build_playlist
from sanarip.models import MediaSegment, Sitting
from sanarip.pipeline import ClipPayload
from sanarip.runtime import Runtime
from sanarip.sittings import get_sitting
from sanarip.storage import LocalStorage
from sanarip.transcripts import public_stenogram

log = logging.getLogger(__name__)

PRESET = "veryfast"  # x264: a clip is made once and watched many times, but must not keep a worker long
FONTS_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core


def _segments(rt: Runtime, sitting_id: int, rng: ClipRange) -> list[MediaSegment]:
    """The media (and gap) rows from the first segment the range touches to the last."""
    with rt.db.session(readonly=True) as s:
        rows = list(s.scalars(select(MediaSegment).where(MediaSegment.sitting_id == sitting_id)
                              .order_by(MediaSegment.seq)))
        s.expunge_all()
    chosen = [m for m in rows if not m.is_gap and m.media_start < rng.end and m.media_start + m.duration > rng.start]
    if not chosen:
        raise MediaError(f"sitting {sitting_id} has no media between {rng.start:.1f} s and {rng.end:.1f} s")
    return [m for m in rows if chosen[0].seq <= m.seq <= chosen[-1].seq]


def _local_playlist(rt: Runtime, rows: list[MediaSegment], tmp: Path) -> tuple[Path, list[Path]]:
    """A VOD playlist of ``rows`` whose segment files ffmpeg can open (copied here unless on local disk),
    and those files in order."""
    paths: dict[int, Path] = {}
    for m in rows:
        if m.is_gap:
            continue
        if isinstance(rt.storage, LocalStorage):
            paths[m.seq] = rt.storage.path(m.path)
        else:
            paths[m.seq] = tmp / Path(m.path).name
            paths[m.seq].write_bytes(rt.storage.get_bytes(m.path))
    playlist = tmp / "range.m3u8"
    playlist.write_text(build_playlist(rows, final=True, uri=lambda m: str(paths[m.seq])))
    return playlist, [paths[m.seq] for m in rows if not m.is_gap]


def _continuous(rows: list[MediaSegment]) -> bool:
    """One clock across ``rows``: no gap and no discontinuity after the first (a packet copy needs one)."""
    return all(not m.is_gap and (i == 0 or not m.discontinuity) for i, m in enumerate(rows))


def _smart(files: list[Path], playlist: Path, offset: float, rng: ClipRange, srt: Path | None,
           language: str, tmp: Path) -> Path | None:
    """The clip with its video cut by ``smart_cut`` (None when that video cannot be cut so)."""
    with av.open(str(files[0])) as first:
        if first.start_time is None:
            return None
        origin = first.start_time / av.time_base  # the playlist's time 0, which ``-ss`` counts from
    video = tmp / "video.ts"
    try:
        report = smart_cut(files, origin, offset, offset + rng.duration, video, PRESET)
    except (CannotSmartCut, av.FFmpegError) as exc:  # a packet the copy cannot take: ffmpeg's re-encode copes
        log.info("clip %s: whole range re-encoded (%s)", rng.text(), exc)
        return None
    out = tmp / "clip.mp4"
    lead = report.first_frame or 0.0
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-itsoffset", f"{lead:.6f}", "-i", str(video),
           "-ss", f"{offset:.3f}", "-i", str(playlist), *(["-i", str(srt)] if srt else []),
           "-t", f"{rng.duration:.3f}", "-map", "0:v:0", "-map", "1:a:0?", *(["-map", "2:0"] if srt else []),
           "-c:v", "copy", "-c:a", "aac", "-b:a", "96k",
           *(["-c:s", "mov_text", "-metadata:s:s:0", f"language={language}"] if srt else []),
           "-movflags", "+faststart", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0 or not out.exists():
        raise MediaError(f"ffmpeg could not mux the clip: {done.stderr.strip()[-400:]}")
    log.info("clip %s: %d frames re-encoded (%s), %d packets copied", rng.text(), report.encoded,
             "+".join(report.parts) or "none", report.copied)
    return out


def _reencode(playlist: Path, offset: float, rng: ClipRange, srt: Path | None, burn: bool, language: str,
              tmp: Path) -> Path:
    """The clip with its whole range re-encoded (burned-in captions, or a video ``smart_cut`` cannot cut)."""
    out = tmp / "clip.mp4"
    video = ["-vf", f"subtitles={srt}:fontsdir={FONTS_DIR}:force_style='FontName=DejaVu Sans'"] if burn and srt else []
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
           "-ss", f"{offset:.3f}", "-i", str(playlist), *(["-i", str(srt)] if srt else []),
           "-t", f"{rng.duration:.3f}", "-map", "0:v:0?", "-map", "0:a:0?", *(["-map", "1:0"] if srt else []),
           *video, "-c:v", "libx264", "-preset", PRESET, "-crf", "23", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "96k", *(["-c:s", "mov_text", "-metadata:s:s:0", f"language={language}"]
                                           if srt else []),
           "-movflags", "+faststart", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0 or not out.exists():
        raise MediaError(f"ffmpeg could not cut the clip: {done.stderr.strip()[-400:]}")
    return out


def make_clip(rt: Runtime, sitting_id: int, rng: ClipRange, burn: bool = False) -> str:
    """Store the MP4 of ``rng`` (made once) and return its storage key."""
    key = clip_key(sitting_id, rng, burn)
    if rt.storage.exists(key):
        return key
    rows = _segments(rt, sitting_id, rng)
    with rt.db.session(readonly=True) as s:
        sitting: Sitting = get_sitting(s, sitting_id)
        subtitles = clip_subtitles(public_stenogram(s, sitting), rng)
        language = sitting.committee.default_language
    with tempfile.TemporaryDirectory(prefix=f"sanarip-clip-{sitting_id}-") as tmp_name:
        tmp = Path(tmp_name)
        playlist, files = _local_playlist(rt, rows, tmp)
        srt: Path | None = None
        if subtitles:
            srt = tmp / "range.srt"
            srt.write_text(subtitles, encoding="utf-8")
        offset = rng.start - rows[0].media_start
        out = None if burn or not _continuous(rows) else _smart(files, playlist, offset, rng, srt, language, tmp)
        if out is None:
            out = _reencode(playlist, offset, rng, srt, burn, language, tmp)
        rt.storage.put_file(key, out, content_type="video/mp4")
    log.info("sitting %s: clip %s stored (%.1f s)", sitting_id, rng.text(), rng.duration)
    return key


def run_clip_job(ctx: JobContext) -> None:
    args: ClipPayload = ctx.args
    make_clip(ctx.runtime, args.sitting, ClipRange.from_ms(args.start_ms, args.end_ms), args.burn)
