"""Backfill existing recordings: files become sittings with HLS media, then get transcribed.

Re-importing the same file is a no-op: sittings remember the SHA-256 of their source file.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import select

from ingest.media import probe
from ingest.poster import try_make_poster
from ingest.recorder import Recorder
from sanarip.catalog import get_committee
from sanarip.errors import SanaripError
from sanarip.jobs import JobContext
from sanarip.models import Sitting
from sanarip.pipeline import ImportPayload
from sanarip.runtime import Runtime
from sanarip.sittings import create_sitting, get_sitting

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".mp3", ".wav", ".flac", ".m4a", ".mov", ".ts", ".ogg"})


def find_media(path: Path) -> list[Path]:
    """The media files to import: ``path`` itself, or the media files under a folder, sorted."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
        if not files:
            raise SanaripError(f"no media files ({', '.join(sorted(MEDIA_SUFFIXES))}) under {path}")
        return files
    if not path.is_file():
        raise SanaripError(f"no such file or folder: {path}")
    return [path]


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def register(rt: Runtime, path: Path, committee: str, title: str | None, day: date | None,
             started_at: datetime | None = None) -> tuple[int, bool]:
    """Create the sitting for ``path`` (validated as media); (sitting id, created?).

    ``started_at`` is the wall clock of media second 0 (it supersedes ``day``, a date-only shorthand
    that means 10:00 local time); without either, the file's modification time.
    """
    digest = content_hash(path)
    with rt.db.session() as s:
        existing = s.scalar(select(Sitting.id).where(Sitting.content_hash == digest))
        if existing is not None:
            return existing, False
        c = get_committee(s, committee)
    probe(str(path))  # a file that is not media fails here, before any sitting exists
    tz = rt.settings.tz
    started = started_at or (datetime.combine(day, time(10, 0), tz) if day
                             else datetime.fromtimestamp(path.stat().st_mtime, tz))
    with rt.db.session() as s:
        sitting = create_sitting(s, c, title=title or path.stem, source_url=str(path.resolve()),
                                 content_hash=digest, started_at=started)
        return sitting.id, True


def run_import_job(ctx: JobContext) -> None:
    """The ``import`` job: remux the sitting's source file into HLS (the pipeline transcribes it next)."""
    args: ImportPayload = ctx.args
    with ctx.runtime.db.session(readonly=True) as s:
        source = get_sitting(s, args.sitting).source_url
    Recorder(ctx.runtime, args.sitting, ctx, from_file=True).run()
    try_make_poster(ctx.runtime, args.sitting)
    log.info("sitting %s imported from %s", args.sitting, source)
