"""HTTP caching of public media, by key: one table for the web app, S3 uploads and nginx.

Segments (``.ts``, ``.vtt``) are written once under a name never reused, so caches keep them
a day without revalidating; playlists and the live-state file are rewritten every few
seconds, so a cache may answer with a copy at most a second old and then revalidates with
the ETag (a 304 when nothing changed). A CDN in front of the public media therefore absorbs any audience.
"""

from __future__ import annotations

IMMUTABLE = "public, max-age=86400, immutable"
SHORT = "public, max-age=1, must-revalidate"
DEFAULT = "public, max-age=86400"

_BY_SUFFIX = {".ts": IMMUTABLE, ".vtt": IMMUTABLE, ".m3u8": SHORT, ".json": SHORT}


def cache_control(key: str) -> str:
    """The ``Cache-Control`` value a public media file ``key`` is served with."""
    dot = key.rfind(".")
    return _BY_SUFFIX.get(key[dot:] if dot >= 0 else "", DEFAULT)
