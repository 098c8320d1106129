"""Media from storage; keys are validated (no path traversal).

Range, If-None-Match / ETag and If-Modified-Since are werkzeug's: ``send_file`` for files on
this machine, ``make_conditional`` for any other storage that streams through us. Cache-Control
comes from ``sanarip.cachepolicy`` (playlists and the live-state file short, segments immutable). S3 never
streams through the web process: the browser is redirected to a presigned URL.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, abort, redirect, request, send_file, url_for
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from sanarip.cachepolicy import IMMUTABLE, cache_control
from sanarip.storage import LocalStorage, NotFound, StorageError, clean_key
from web.deps import runtime

bp = Blueprint("media", __name__)
TYPES = {".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl", ".wav": "audio/wav", ".vtt": "text/vtt",
         ".json": "application/json"}


def public_media_url(key: str) -> str | None:
    """Where a browser reads public media file ``key`` with relative URIs intact: under
    ``SANARIP_PUBLIC_MEDIA_URL`` (nginx, an S3 public-read prefix, a CDN), else through this app's
    /media/ on local storage; None for S3 without a public URL (only presigned single files)."""
    rt = runtime()
    base = rt.settings.public_media_url
    if base:
        return base.rstrip("/") + "/" + key
    if isinstance(rt.storage, LocalStorage):
        return url_for("media.media", key=key)
    return None


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
    mimetype = TYPES.get(key[key.rfind("."):]) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    try:
        if isinstance(storage, LocalStorage):
            resp = send_file(storage.path(key), mimetype=mimetype, conditional=True, etag=True)
        else:
            resp = Response(storage.read_range(key), mimetype=mimetype, direct_passthrough=True)
            resp.content_length = size
            if cache_control(key) == IMMUTABLE:  # written once; rewritten files get no guessable ETag here
                resp.set_etag(f"{key}-{size}")
            resp = resp.make_conditional(request, accept_ranges=True, complete_length=size)
        resp.headers["Cache-Control"] = cache_control(key)
        return resp
    except RequestedRangeNotSatisfiable:  # bare 416: the HTML error page would drop Content-Range
        return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
