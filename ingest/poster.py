"""Poster frames: one still per sitting for the home page's cards, taken by ffmpeg.

Taken at the end of a recording or an import, and for older sittings by a ``poster`` job that
the web app queues when a card has none (the web never runs ffmpeg itself). Only the one HLS
segment holding the chosen moment is read, so a poster costs the same on S3 as on disk.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import select

from ingest.media import ffmpeg_exe
from sanarip.jobs import JobContext
from sanarip.medialayout import poster_key
from sanarip.models import MediaSegment
from sanarip.pipeline import PosterPayload
from sanarip.runtime import Runtime
from sanarip.storage import LocalStorage, Storage

log = logging.getLogger(__name__)

POSTER_WIDTH = 640  # px; cards are at most ~400 px wide, so this is sharp on 1.5x screens
LATEST_MOMENT = 600.0  # s: the opening minutes are often an empty hall or a title card, later ones the sitting


def poster_moment(duration: float) -> float:
    """When the poster is taken: a third into the sitting, at most ten minutes in."""
    return max(0.0, min(duration / 3, LATEST_MOMENT))


def _frame(ffmpeg: str, source: Path, offset: float, out: Path) -> bool:
    """One scaled JPEG frame of ``source`` at ``offset`` seconds; False when there is none (no video)."""
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-ss", f"{offset:.3f}", "-i", str(source), "-map", "0:v:0?",
           "-frames:v", "1", "-vf", f"scale='min({POSTER_WIDTH},iw)':-2", "-q:v", "4", str(out)]
    done = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    return done.returncode == 0 and out.exists() and out.stat().st_size > 0


def make_poster(rt: Runtime, sitting_id: int) -> str | None:
    """Store the sitting's poster frame and return its key; None when it has no video (audio only)."""
    storage: Storage = rt.storage
    key = poster_key(sitting_id)
    if storage.exists(key):
        return key
    with rt.db.session(readonly=True) as s:
        segments = list(s.scalars(select(MediaSegment)
                                  .where(MediaSegment.sitting_id == sitting_id, MediaSegment.is_gap.is_(False),
                                         MediaSegment.path.is_not(None))
                                  .order_by(MediaSegment.seq)))
    if not segments:
        return None
    at = poster_moment(segments[-1].media_start + segments[-1].duration)
    seg = next((m for m in segments if m.media_start + m.duration > at), segments[-1])
    with tempfile.TemporaryDirectory(prefix=f"sanarip-poster-{sitting_id}-") as tmp:
        if isinstance(storage, LocalStorage):
            source = storage.path(seg.path)
        else:
            source = Path(tmp) / "segment.ts"
            source.write_bytes(storage.get_bytes(seg.path))
        out = Path(tmp) / "poster.jpg"
        ffmpeg = ffmpeg_exe()
        # -ss past a segment's last frame gives no frame: fall back to the segment's first one
        if not (_frame(ffmpeg, source, max(0.0, at - seg.media_start), out) or _frame(ffmpeg, source, 0.0, out)):
            log.info("sitting %s: no video frame for a poster (audio only?)", sitting_id)
            return None
        storage.put_file(key, out, content_type="image/jpeg")
    log.info("sitting %s: poster frame at %.0f s stored", sitting_id, at)
    return key


def try_make_poster(rt: Runtime, sitting_id: int) -> None:
    """The end of a recording or import: a failed poster must not fail the sitting (a job retries it later)."""
    try:
        make_poster(rt, sitting_id)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("sitting %s: no poster frame (%s)", sitting_id, exc)


def run_poster_job(ctx: JobContext) -> None:
    """The ``poster`` job, for sittings recorded before posters existed (or whose poster failed)."""
    args: PosterPayload = ctx.args
    make_poster(ctx.runtime, args.sitting)
