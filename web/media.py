"""Media from storage with HTTP Range support; keys are validated (no path traversal)."""

from __future__ import annotations

import mimetypes
import re

from flask import Blueprint, Response, abort, redirect, request

from sanarip.storage import NotFound, StorageError, clean_key
from web.deps import runtime

bp = Blueprint("media", __name__)
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
TYPES = {".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl", ".wav": "audio/wav"}


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single ``bytes=`` range; None if unsatisfiable."""
    m = RANGE_RE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if m.group(1):
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    else:  # suffix range: the last N bytes
        start, end = max(0, size - int(m.group(2))), size - 1
    return (start, end) if start <= end < size else None


@bp.route("/media/<path:key>")
def media(key: str):
    storage = runtime().storage
    try:
        key = clean_key(key)
        if not key.startswith("sittings/") or "/final-pass/" in key:
            raise StorageError("not a public media key")
        url = storage.media_url(key)
        if url:  # S3: let the browser fetch the object directly (presigned)
            return redirect(url, code=302)
        size = storage.size(key)
    except (StorageError, NotFound):
        abort(404, "No such media file.")
    ext = key[key.rfind("."):]
    mimetype = TYPES.get(ext) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=86400"}
    header = request.headers.get("Range")
    if header:
        rng = parse_range(header, size)
        if rng is None:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        start, end = rng
        headers.update({"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)})
        return Response(storage.read_range(key, start, end), 206, headers=headers, mimetype=mimetype,
                        direct_passthrough=True)
    headers["Content-Length"] = str(size)
    return Response(storage.read_range(key), 200, headers=headers, mimetype=mimetype, direct_passthrough=True)
