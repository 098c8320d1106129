"""The Flask web front end: ``create_app(settings)`` and its blueprints.

The web process never runs ffmpeg or loads a model; it reads the database, storage and the
search index, and enqueues jobs for workers.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from sanarip import clock
from sanarip.config import Settings, load_settings
from sanarip.runtime import Runtime
from search.indexing import SearchIndexer

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent


def _secret_key(settings: Settings) -> str:
    """SANARIP_SECRET_KEY, else a random key kept (0600) in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web application for ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    runtime = Runtime(settings)
    runtime.db.upgrade()
    runtime.indexer = SearchIndexer(runtime)  # clerks' edits reach the index at once
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=1 << 20,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    if settings.trusted_proxies:  # the client address from that many X-Forwarded-For hops, never more
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                                x_host=0, x_port=0, x_prefix=0)
    app.extensions["sanarip"] = runtime

    from web import (
        api,
        auth,
        clerk,
        clips,
        dashboard,
        errors,
        feeds,
        i18n,
        kyrgyzqueue,
        limits,
        live,
        media,
        ops,
        public,
        record,
        security,
        site,
        speakers,
        subscriptions,
        vendor,
        voices,
    )

    i18n.init_app(app)
    errors.init_app(app)
    security.init_app(app, runtime)  # before the routes (bounded ids) and before the user lookup
    app.before_request(ops.guard_metrics)  # the scraper's token is not an API token
    auth.init_app(app)
    limits.init_app(app)
    for module in (public, clips, live, feeds, api, subscriptions, media, ops, auth, clerk, speakers, dashboard,
                   kyrgyzqueue, record, vendor, site, voices):
        app.register_blueprint(module.bp)
    from web.views import search_args

    app.jinja_env.globals.update(tz=settings.tz, search_args=search_args)  # never **request.args into url_for
    app.jinja_env.filters.update(localtime=clock.local_label, localdate=lambda dt: clock.local_date(dt).isoformat(),
                                 localiso=clock.local_iso)  # one clock: SANARIP_TIMEZONE
    return app


def serving_app(settings: Settings) -> Flask:
    """The app as one serving process runs it (``sanarip serve``, after the fork): built, then the
    objects alive at that point (modules, the app, SQLAlchemy's metadata) frozen out of Python's
    cyclic garbage collector. Each full collection would otherwise walk all of them, and a page that
    builds a thousand rows (a deputy's record) sets one off every few requests: 90 ms each."""
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    return app
