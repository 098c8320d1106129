"""Clips of a range: the MP4 (made by a job, then served), the embeddable player and oEmbed.

``/s/<id>/clip.mp4?t=START-END`` answers 202 with Retry-After while the ``clip`` job makes the file
and 200 with it afterwards; only asking for a clip that does not exist yet counts against the
per-address limit, so anyone may fetch a made clip as often as they like.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import RequestRedirect

from sanarip.clips import RANGE_RE, ClipRange, RangeError, clip_key, clip_range, overlapping, parse_range
from sanarip.models import Sitting
from sanarip.pipeline import ClipPayload
from sanarip.throttle import window_hit
from sanarip.transcripts import public_stenogram
from web.deps import runtime
from web.limits import client_address, too_many
from web.media import media
from web.views import external_url, sitting_or_404

bp = Blueprint("clips", __name__)
HOUR = 3600.0
RETRY_AFTER = 5  # seconds: a short clip is made in about that long
EMBED_WIDTH, EMBED_HEIGHT = 640, 480  # the iframe oEmbed proposes: 16:9 video plus a few transcript lines


def _range_or_400(sitting: Sitting, impossible: int) -> ClipRange:
    """The request's range: a malformed one is a 400; a well-formed one this sitting cannot give
    (backwards, past its end, too long) is ``impossible`` — the API's 404, as the clip does not exist."""
    if not sitting.duration:
        abort(404, _("Sitting %(id)s has no recorded media to clip.", id=sitting.id))
    raw = request.args.get("t", "")
    try:
        return clip_range(raw, sitting.duration)
    except RangeError as exc:
        abort(impossible if RANGE_RE.fullmatch(raw.strip()) else 400, str(exc))


def _clip(sitting_id: int, impossible: int = 400) -> tuple[str, ClipRange, bool]:
    """(storage key, range, ready?) of the clip the request names, queueing its job when it is not made."""
    burn = request.args.get("captions") == "burn"
    rt = runtime()
    with rt.db.session(readonly=True) as s:
        rng = _range_or_400(sitting_or_404(s, sitting_id), impossible)
    key = clip_key(sitting_id, rng, burn)
    if rt.storage.exists(key):
        return key, rng, True
    payload = ClipPayload(sitting_id, rng.start_ms, rng.end_ms, burn)
    if rt.queue.active(payload):
        return key, rng, False  # being made: asking again costs nothing
    limit = rt.settings.clip_rate_limit
    if limit:
        with rt.db.session() as s:
            wait = window_hit(s, f"clip:{client_address()}", limit, HOUR)
        if wait:
            raise too_many(wait, _("Too many new clips from your address (at most %(limit)s an hour).", limit=limit))
    rt.queue.submit(payload)
    return key, rng, False


@bp.route("/s/<int:sitting_id>/clip.mp4")
def clip_mp4(sitting_id: int):
    key, rng, ready = _clip(sitting_id)
    if ready:
        return media(key)
    resp = jsonify(status="pending", message=_("The clip is being made; try again in a few seconds."))
    resp.status_code, resp.headers["Retry-After"] = 202, str(RETRY_AFTER)
    return resp


@bp.route("/api/v1/sittings/<int:sitting_id>/clip")
def api_clip(sitting_id: int):
    """The API's view of a clip: where the MP4 is once made (202 while it is being made)."""
    key, rng, ready = _clip(sitting_id, impossible=404)
    url = external_url("clips.clip_mp4", sitting_id=sitting_id, t=rng.text(),
                       **({"captions": "burn"} if key.endswith("-captions.mp4") else {}))
    if ready:
        return jsonify(status="ready", url=url, start=rng.start, end=rng.end)
    resp = jsonify(status="pending", url=url, start=rng.start, end=rng.end)
    resp.status_code, resp.headers["Retry-After"] = 202, str(RETRY_AFTER)
    return resp


@bp.route("/embed/s/<int:sitting_id>")
def embed(sitting_id: int):
    """A minimal player of the range with its transcript lines: the one page other sites may frame."""
    raw = request.args.get("t", "")
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, sitting_id)
        try:
            rng = parse_range(raw) if raw else ClipRange(0.0, sitting.duration or 0.0)
        except RangeError as exc:
            abort(400, str(exc))
        segments = overlapping(public_stenogram(s, sitting).segments, rng) if raw else []
        return render_template("embed.html", sitting=sitting, rng=rng, segments=segments,
                               page_url=external_url("public.sitting_page", sitting_id=sitting_id,
                                                     **({"t": rng.text()} if raw else {})))


@bp.route("/oembed")
def oembed():
    """oEmbed (JSON) for sitting and embed links of this site, so they unfurl elsewhere as a player."""
    if request.args.get("format", "json") != "json":
        abort(501, _("Only the JSON format is offered."))
    url = request.args.get("url", "")
    parts = urlsplit(url)
    base = urlsplit(runtime().settings.base_url)
    if not url or (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        abort(404, _("Not a link to this site."))
    try:
        endpoint, values = current_app.url_map.bind(base.netloc).match(parts.path)
    except (RouteNotFound, MethodNotAllowed, RequestRedirect):
        abort(404, _("Not a link to a sitting."))
    if endpoint not in ("public.sitting_page", "clips.embed"):
        abort(404, _("Not a link to a sitting."))
    t = (parse_qs(parts.query).get("t") or [""])[0]
    with runtime().db.session(readonly=True) as s:
        sitting = sitting_or_404(s, values["sitting_id"])
        if t:
            try:
                parse_range(t)
            except RangeError:
                t = ""  # a single moment, or nothing usable: embed the whole sitting
        width = min(EMBED_WIDTH, _dimension("maxwidth", EMBED_WIDTH))
        height = min(EMBED_HEIGHT, _dimension("maxheight", EMBED_HEIGHT))
        src = external_url("clips.embed", sitting_id=sitting.id, **({"t": t} if t else {}))
        title = sitting.title or f"Sitting {sitting.id}"
        html = render_template("_oembed_iframe.html", src=src, width=width, height=height, title=title)
        return jsonify(version="1.0", type="video", provider_name="Sanarip", provider_url=external_url("public.home"),
                       title=title, html=html, width=width, height=height)


def _dimension(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 100 <= int(raw) <= 4000:
        abort(400, _("'%(name)s' must be a whole number of pixels from 100 to 4000", name=name))
    return int(raw)

