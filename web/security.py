"""Response headers for every route, decided in one place, and the URL rules that come first.

Each endpoint gets a policy from ``POLICIES`` (by endpoint, then by blueprint; pages by
default): the page policy is a Content-Security-Policy the pages work under (scripts from this
site only, hls.js's blob: worker and media, the S3 media origin when media is presigned), data
responses (JSON, feeds, exports, media) get one that allows nothing. Nothing may frame a page
(``frame-ancestors 'none'``) until a route exists to be embedded. Pages personalised for a
logged-in clerk are ``Cache-Control: private``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, request
from werkzeug.routing import IntegerConverter

from sanarip.limits import MAX_ID
from sanarip.runtime import Runtime

HSTS_SECONDS = 2 * 365 * 24 * 3600


class IdConverter(IntegerConverter):
    """``<int:…>`` bounded to what an id column holds: a larger number is a 404, not a database error."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


@dataclass(frozen=True)
class Policy:
    """What a kind of response may load and who may frame it."""

    csp: str
    embeddable: bool = False  # no route is, for now


def page_csp(media_origin: str | None) -> str:
    media = " ".join(filter(None, ("'self'", "blob:", media_origin)))
    connect = " ".join(filter(None, ("'self'", media_origin)))
    img = " ".join(filter(None, ("'self'", "data:", media_origin)))  # poster frames are media, redirected on S3
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", f"img-src {img}",
        f"media-src {media}", f"connect-src {connect}", "worker-src 'self' blob:", "object-src 'none'",
        "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ))


DATA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
PAGE = "page"
DATA = "data"
# Endpoint or blueprint name → kind of response; anything not named is a page.
POLICIES: dict[str, str] = {
    "api": DATA, "feeds": DATA, "site": DATA, "ops": DATA, "media": DATA, "vendor": DATA, "static": DATA,
    "public.sitting_export": DATA, "public.playlist": DATA, "live.live_segments": DATA,
    "subscriptions.api_subscribe": DATA, "subscriptions.api_list": DATA,
}


def media_origin(rt: Runtime) -> str | None:
    """The origin browsers fetch media from: ``public_media_url``'s, or where storage presigns URLs
    (S3), else None (this site)."""
    url = rt.settings.public_media_url or rt.storage.media_url("sittings/0/csp-probe.ts")
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None  # a path: this site


def policy_for(endpoint: str | None, policies: dict[str, Policy]) -> Policy:
    name = endpoint or ""
    kind = POLICIES.get(name) or POLICIES.get(name.split(".", 1)[0]) or PAGE
    return policies[kind]


def routing_first() -> None:
    """A URL that matches no route (or not with this method) is answered 404/405 before any
    credential or CSRF check: what a client sent to nowhere needs no token to be refused."""
    if request.routing_exception is not None:
        raise request.routing_exception


def set_headers(resp: Response) -> Response:
    conf = current_app.extensions["security"]
    policy = policy_for(request.endpoint, conf["policies"])
    resp.headers.setdefault("Content-Security-Policy", policy.csp)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if not policy.embeddable:
        resp.headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
    if conf["https"]:
        resp.headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    if g.get("user") is not None and not g.get("via_token") and not resp.cache_control.no_store:
        resp.cache_control.private = True  # the page names the clerk: no shared cache may keep it
        resp.cache_control.public = False
        resp.vary.add("Cookie")
    return resp


def site_origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(base_url: str) -> bool:
    """Stateless CSRF check for forms anyone may send (no session, so no token to compare): the
    browser says where the request comes from — ``Origin`` (every current browser sends it on a
    POST), else ``Sec-Fetch-Site``, else the ``Referer``'s origin — and it must be this site
    (``SANARIP_BASE_URL``). A request that says nothing is refused: a cross-site form must not
    pass just by suppressing the headers."""
    ours = site_origin(base_url)
    origin = request.headers.get("Origin")
    if origin:
        return origin.lower() == ours
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site in ("same-origin", "none")
    referer = request.headers.get("Referer")
    return bool(referer) and site_origin(referer) == ours


def require_same_origin(base_url: str) -> None:
    if not same_origin(base_url):
        abort(403, "This form must be sent from this site's own page (its origin could not be confirmed).")


def csrf_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that needs no session CSRF token: it checks the request itself (``require_same_origin``,
    a JSON-only body, or a secret token in its URL). ``web.auth`` skips its session check for it."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def init_app(app: Flask, rt: Runtime) -> None:
    """Install the bounded int converter (before any route is added) and the hooks."""
    app.url_map.converters["int"] = IdConverter
    page = page_csp(media_origin(rt))
    app.extensions["security"] = {"https": rt.settings.base_url.startswith("https://"),
                                  "policies": {PAGE: Policy(page), DATA: Policy(DATA_CSP)}}
    app.before_request(routing_first)
    app.after_request(set_headers)
