"""Accounts on the web: login, logout, password change, user admin, CSRF, API tokens.

Cookie sessions are HttpOnly and SameSite=Lax; every state-changing request authenticated
by cookie (or anonymous) must carry the session's CSRF token (form field ``csrf_token`` or
header ``X-CSRF-Token``). Requests with ``Authorization: Bearer <token>`` need no CSRF.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlparse

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from sanarip.accounts import audit, authenticate, role_at_least, set_password, user_for_token
from sanarip.errors import SanaripError
from sanarip.limits import is_id
from sanarip.models import AuditLog, User
from web.deps import runtime
from web.i18n import LANGUAGES

bp = Blueprint("auth", __name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOGIN_WINDOW = 300.0
LOGIN_MAX_FAILURES = {"user": 5, "ip": 20}  # per username, per client address, within the window


class _LoginLimiter:
    """Failed logins per client address and per username within a window (per process)."""

    def __init__(self) -> None:
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self.failures[key]
        while q and q[0] < now - LOGIN_WINDOW:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self.lock:
            return any(len(self._recent(k, now)) >= LOGIN_MAX_FAILURES[k.split(":", 1)[0]] for k in keys)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self.lock:
            for k in keys:
                self._recent(k, now).append(now)


limiter = _LoginLimiter()


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _load_user() -> None:
    g.user = None
    g.via_token = False
    header = request.headers.get("Authorization", "")
    with runtime().db.session(readonly=True) as s:
        if header.startswith("Bearer "):
            g.user = user_for_token(s, header[7:].strip())
            g.via_token = True
            if g.user is None:
                abort(401, "Invalid or revoked API token.")
        elif "user_id" in session:
            user = s.get(User, session["user_id"])
            if user is not None and user.active and session.get("pw") == user.password_hash[-16:]:
                g.user = user
            else:
                session.pop("user_id", None)
        if g.user is not None:
            s.expunge(g.user)


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or g.via_token:
        return
    if g.user is None and request.path.startswith("/api/"):  # no credentials at all: say which are needed
        raise Unauthorized("Log in or send an API token (Authorization: Bearer …).",
                           www_authenticate=WWWAuthenticate("Bearer", {"realm": "sanarip"}))
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, "The form expired or did not come from this site (CSRF check failed). Reload the page and retry.")


def init_app(app: Flask) -> None:
    app.before_request(_load_user)
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token)


def require_role(role: str):
    """401 without a login or token, 403 with a role below ``role``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.user is None:
                if request.path.startswith("/api/") or g.via_token:
                    abort(401, "Log in or send an API token (Authorization: Bearer …).")
                return redirect(url_for("auth.login", next=request.full_path))
            if not role_at_least(g.user.role, role):
                abort(403, f"This needs the {role} role; you are {g.user.role}.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _safe_next(target: str | None) -> str:
    parsed = urlparse(target or "")
    if target and not parsed.scheme and not parsed.netloc and target.startswith("/"):
        return target
    return url_for("public.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        keys = (f"ip:{request.remote_addr}", f"user:{username.lower()}")
        if limiter.blocked(*keys):
            return render_template("login.html", error="Too many failed attempts; wait a few minutes."), 429
        with runtime().db.session() as s:
            user = authenticate(s, username, password)
            if user is not None:
                session.clear()
                session.update(user_id=user.id, pw=user.password_hash[-16:], csrf=secrets.token_urlsafe(32))
                session.permanent = False
                return redirect(_safe_next(request.args.get("next") or request.form.get("next")))
        limiter.fail(*keys)
        error = "Wrong username or password."
        return render_template("login.html", error=error), 401
    return render_template("login.html", error=error)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("public.home"))


@bp.route("/account", methods=["GET", "POST"])
@require_role("clerk")
def account():
    message, status = None, 200
    if request.method == "POST":
        with runtime().db.session() as s:
            user = s.get(User, g.user.id)
            if authenticate(s, user.username, request.form.get("current") or "") is None:
                message, status = "Your current password is wrong.", 400
            elif request.form.get("new") != request.form.get("repeat"):
                message, status = "The new passwords differ.", 400
            else:
                try:
                    set_password(s, user, request.form.get("new") or "")
                except SanaripError as exc:
                    message, status = str(exc), 400
                else:
                    session["pw"] = user.password_hash[-16:]
                    message = "Password changed."
    return render_template("account.html", message=message), status


@bp.route("/admin/users", methods=["GET", "POST"])
@require_role("admin")
def users():
    with runtime().db.session() as s:
        if request.method == "POST":
            target_id = request.form.get("user_id", type=int)
            target = s.get(User, target_id) if is_id(target_id) else None
            if target is None:
                abort(400, "No such user.")
            if target.id == g.user.id:
                abort(400, "You cannot disable yourself.")
            target.active = request.form.get("active") == "1"
            audit(s, g.user.id, "user.enable" if target.active else "user.disable", {"username": target.username})
        rows = list(s.scalars(select(User).order_by(User.username)))
        log = list(s.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(50)))
        return render_template("users.html", users=rows, log=log)


@bp.route("/lang/<lang>")
def set_language(lang: str):
    """The language switcher: a plain link that stores the choice in a preference cookie and
    goes back, so that no anonymous page needs a session (or a CSRF token) for its form."""
    if lang not in LANGUAGES:
        abort(400, f"Unknown language; choose one of {', '.join(LANGUAGES)}.")
    resp = redirect(_safe_next(request.args.get("next")))
    resp.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                    secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp
