"""Media from storage; keys are validated (no path traversal).

Range, If-None-Match / ETag and If-Modified-Since are werkzeug's: ``send_file`` for files on
this machine, ``make_conditional`` for any other storage that streams through us. S3 never
streams through the web process: the browser is redirected to a presigned URL.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, abort, redirect, request, send_file
from flask_babel import gettext as _
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from sanarip.storage import LocalStorage, NotFound, StorageError, clean_key
from web.deps import runtime

bp = Blueprint("media", __name__)
TYPES = {".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl", ".wav": "audio/wav"}
MAX_AGE = 86400  # segments never change once written


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
        abort(404, _("No such media file."))
    mimetype = TYPES.get(key[key.rfind("."):]) or mimetypes.guess_type(key)[0] or "application/octet-stream"
    try:
        if isinstance(storage, LocalStorage):
            return send_file(storage.path(key), mimetype=mimetype, conditional=True, max_age=MAX_AGE)
        resp = Response(storage.read_range(key), mimetype=mimetype, direct_passthrough=True)
        resp.content_length = size
        if not key.endswith(".m3u8"):  # segments are written once; only playlists are rewritten
            resp.set_etag(f"{key}-{size}")
        resp.cache_control.public = True
        resp.cache_control.max_age = MAX_AGE
        return resp.make_conditional(request, accept_ranges=True, complete_length=size)
    except RequestedRangeNotSatisfiable:  # bare 416: the HTML error page would drop Content-Range
        return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
