"""Error pages (HTML) and error bodies (JSON under /api): a helpful message, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from sanarip.db import is_busy
from sanarip.errors import NotFound
from search import QueryError, QueryTooExpensive, SearchBusy, SearchUnavailable

log = logging.getLogger(__name__)
BUSY_RETRY_AFTER = 5  # seconds a client is asked to wait when the database is busy


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz",)


def error_response(status: int, message: str, **extra):
    if _wants_json():
        return jsonify({"error": message, "status": status, **extra}), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        body, status = error_response(exc.code or 500, exc.description or exc.name)
        resp = make_response(body, status)
        for name, value in exc.get_headers():  # Allow on 405, WWW-Authenticate, Retry-After …
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp

    @app.errorhandler(OperationalError)
    def database_error(exc: OperationalError):
        if not is_busy(exc):
            return crash(exc)
        log.warning("database busy on %s: %s", request.path, exc.orig)
        resp = make_response(error_response(503, _("The database is busy; please try again in a few seconds.")))
        resp.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
        return resp

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return error_response(404, str(exc))

    @app.errorhandler(QueryError)
    def bad_query(exc: QueryError):
        return error_response(400, _("Malformed query: %(error)s", error=str(exc)))

    @app.errorhandler(QueryTooExpensive)
    def expensive_query(exc: QueryTooExpensive):
        return error_response(400, str(exc))

    @app.errorhandler(SearchBusy)
    def search_busy(exc: SearchBusy):
        resp = make_response(error_response(503, _("Search is busy right now; please try again in a second.")))
        resp.headers["Retry-After"] = "1"
        return resp

    @app.errorhandler(SearchUnavailable)
    def search_down(exc: SearchUnavailable):
        log.warning("search unavailable: %s", exc)
        return error_response(503, _("Search is temporarily unavailable; please try again in a minute."))

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        return error_response(500, _("Something went wrong on our side; the error has been logged."))
