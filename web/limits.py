"""Per-address rate limits on search and the API, shared by every server process (``sanarip.throttle``).

The client address is ``request.remote_addr`` after ProxyFix has trusted ``SANARIP_TRUSTED_PROXIES``
hops of ``X-Forwarded-For`` (set in ``create_app``); with 0 hops the header is ignored, so a client
cannot pick its own address. A limit of 0 turns a limit off.
"""

from __future__ import annotations

import math

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from sanarip.throttle import window_hit
from web.deps import runtime
from web.jsmessages import N_

WINDOW = 60.0  # seconds: the limits are per minute
SEARCH_ENDPOINTS = frozenset({"public.search_page", "api.search"})


def client_address() -> str:
    return request.remote_addr or "unknown"


def too_many(wait: float, message: str) -> TooManyRequests:
    """429 with Retry-After (whole seconds, at least 1)."""
    seconds = max(1, math.ceil(wait))
    return TooManyRequests(_("%(message)s Try again in %(seconds)s s.", message=message, seconds=seconds),
                           retry_after=seconds)


def _limit() -> None:
    settings = runtime().settings
    if request.endpoint in SEARCH_ENDPOINTS and request.args.get("q"):
        kind, limit, what = "search", settings.search_rate_limit, N_("Too many searches from your address (at most "
                                                                      "%(limit)s a minute).")
    elif request.path.startswith("/api/"):
        kind, limit, what = "api", settings.api_rate_limit, N_("Too many API requests from your address (at most "
                                                               "%(limit)s a minute).")
    else:
        return
    if not limit:
        return
    with runtime().db.session() as s:
        wait = window_hit(s, f"{kind}:{client_address()}", limit, WINDOW)
    if wait:
        raise too_many(wait, _(what, limit=limit))


def init_app(app: Flask) -> None:
    app.before_request(_limit)
