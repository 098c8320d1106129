"""Accounts on the web: login, logout, password change, user admin, CSRF, API tokens.

Sessions live on the server (``web_session``): the signed cookie carries only a random session
id and the CSRF token, so logout, a password change or disabling the user revokes it at once,
and a session ends after ``session_idle_hours`` without use or ``session_max_days`` in all.
Every state-changing request authenticated by cookie must carry the session's CSRF token (form
field ``csrf_token`` or header ``X-CSRF-Token``); ``Authorization: Bearer <token>`` needs none.
An anonymous write to a route that needs a login is 401 with ``WWW-Authenticate``.

Password checks are throttled in the database (shared by all processes): after
``login_backoff_after`` failures a username waits 2, 4, 8 … s (at most ``login_backoff_max``)
before its next attempt is even checked, and an address gets ``login_address_limit`` failures an
hour. A browser where the user logged in before holds a signed *device cookie* for that
username; its attempts are counted apart, so an attacker's failures cannot keep the real user
out (OWASP's device-cookie scheme). The scrypt check runs outside any write transaction.
"""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlparse

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized

from sanarip.accounts import (
    audit,
    end_session,
    end_sessions,
    find_user,
    password_matches,
    role_at_least,
    session_user,
    set_password,
    start_session,
    token_user,
    touch_session,
    touch_token,
)
from sanarip.errors import SanaripError
from sanarip.limits import is_id
from sanarip.models import AuditLog, User, utcnow
from sanarip.throttle import backoff_failure, clear, wait_for, window_hit
from web.deps import runtime
from web.i18n import LANGUAGES
from web.limits import client_address, too_many

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOUCH_EVERY = timedelta(seconds=60)  # last-seen / last-used times are written at most this often
DEVICE_COOKIE = "sanarip_device"
DEVICE_MAX_AGE = 365 * 24 * 3600
ADDRESS_WINDOW = 3600.0


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def unauthorized(message: str) -> Unauthorized:
    return Unauthorized(message, www_authenticate=WWWAuthenticate("bearer", {"realm": "sanarip"}))


def _lifetimes() -> tuple[timedelta, timedelta]:
    settings = runtime().settings
    return timedelta(hours=settings.session_idle_hours), timedelta(days=settings.session_max_days)


def _load_user() -> None:
    g.user = None
    g.via_token = False
    header = request.headers.get("Authorization", "")
    touch = None
    now = utcnow()
    with runtime().db.session(readonly=True) as s:
        if header.startswith("Bearer "):
            found = token_user(s, header[7:].strip())
            if found is None:
                raise unauthorized("Invalid, expired or revoked API token.")
            g.user, tok = found
            g.via_token = True
            if tok.last_used_at is None or now - tok.last_used_at > TOUCH_EVERY:
                touch = functools.partial(touch_token, token_id=tok.id)
        elif "sid" in session:
            found = session_user(s, session["sid"], *_lifetimes())
            if found is None:
                session.clear()
            else:
                g.user, row = found
                if now - row.last_seen_at > TOUCH_EVERY:
                    touch = functools.partial(touch_session, sid=session["sid"])
        if g.user is not None:
            s.expunge(g.user)
    if touch is not None:
        try:
            with runtime().db.session() as s:
                touch(s)
        except OperationalError as exc:  # a busy database must not refuse the request for bookkeeping
            log.warning("last-use time not recorded: %s", exc.orig)


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or g.via_token:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "csrf_exempt", False):  # it checks the request itself (web.security.csrf_exempt)
        return
    if g.user is None and (request.path.startswith("/api/") or getattr(view, "required_role", None)):
        raise unauthorized("Log in or send an API token (Authorization: Bearer …).")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, "The form expired or did not come from this site (CSRF check failed). Reload the page and retry.")


def init_app(app: Flask) -> None:
    app.before_request(_load_user)
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token, login_next=login_next)


def require_role(role: str):
    """401 without a login or token, 403 with a role below ``role``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.user is None:
                if request.path.startswith("/api/") or request.method not in SAFE_METHODS:
                    raise unauthorized("Log in or send an API token (Authorization: Bearer …).")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not role_at_least(g.user.role, role):
                abort(403, f"This needs the {role} role; you are {g.user.role}.")
            return view(*args, **kwargs)

        wrapped.required_role = role
        return wrapped

    return decorator


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page: no open redirect.

    Browsers read ``//host`` and ``/\\host`` (and the same with tabs or newlines inside) as
    another site, so a backslash or any control character refuses the target too.
    """
    target = target or ""
    parsed = urlparse(target)
    if (target.startswith("/") and not target.startswith("//") and not parsed.scheme and not parsed.netloc
            and "\\" not in target and target.isprintable()):
        return target
    return url_for("public.home")


def login_next() -> str | None:
    """Where the header's login link returns to: this page (not the login page itself)."""
    if request.endpoint in (None, "auth.login", "auth.logout") or request.method != "GET":
        return None
    return request.full_path.rstrip("?")


# Throttled password checks ---------------------------------------------------------------------
def _devices() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="sanarip-device")


def _device_id(username: str) -> str | None:
    """The id of this browser's device cookie if it was issued for ``username``."""
    try:
        data = _devices().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return None
    return data.get("d") if isinstance(data, dict) and data.get("u") == username.lower() else None


def _throttle_keys(username: str) -> tuple[str, str | None]:
    """(the back-off key, the address key or None).

    A browser holding this username's device cookie has a back-off of its own and no address
    limit: neither an attacker guessing the username nor one sharing the user's address (NAT)
    delays it, while a stolen device cookie still meets the growing back-off.
    """
    name = username.lower()
    device = _device_id(name)
    if device:
        return f"login-device:{name}:{device}", None
    return f"login-user:{name}", f"login-addr:{client_address()}"


def check_password(username: str, password: str, purpose: str = "login") -> User | None:
    """The user if ``password`` is right; 429 (Retry-After) while the username or address must wait.

    ``purpose="account"``: the password check of a logged-in session (a password change) backs off
    per account whatever the browser, so a stolen session cannot guess on at full speed.
    """
    settings = runtime().settings
    if purpose == "account":
        user_key, addr_key = f"account:{username.lower()}", f"login-addr:{client_address()}"
    else:
        user_key, addr_key = _throttle_keys(username)
    keys = [user_key] + ([addr_key] if addr_key else [])
    with runtime().db.session(readonly=True) as s:
        wait = wait_for(s, keys)
        user = find_user(s, username)
        if user is not None:
            s.expunge(user)
    if wait:
        raise too_many(wait, "Too many failed attempts for this account or from your address.")
    if password_matches(user, password):  # scrypt, outside any transaction
        with runtime().db.session() as s:
            clear(s, user_key)
        return user
    with runtime().db.session() as s:
        backoff_failure(s, user_key, settings.login_backoff_after, settings.login_backoff_max)
        if addr_key:
            window_hit(s, addr_key, settings.login_address_limit, ADDRESS_WINDOW)
    return None


def _trust_device(resp, username: str):
    """Give this browser a device cookie for ``username`` (kept if it has one already)."""
    if _device_id(username.lower()) is None:
        value = _devices().dumps({"u": username.lower(), "d": secrets.token_urlsafe(12)})
        resp.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"], path=url_for("auth.login"))
    return resp


def _retry_after(exc: TooManyRequests) -> dict[str, str]:
    return {name: value for name, value in exc.get_headers() if name == "Retry-After"}


def _begin_session(user_id: int) -> None:
    with runtime().db.session() as s:
        sid = start_session(s, user_id)
    session.clear()
    session.update(sid=sid, csrf=secrets.token_urlsafe(32))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        try:
            user = check_password(username, request.form.get("password") or "")
        except TooManyRequests as exc:  # the form again, saying how long to wait
            return render_template("login.html", error=exc.description), 429, _retry_after(exc)
        if user is not None:
            _begin_session(user.id)
            resp = redirect(_safe_next(request.args.get("next") or request.form.get("next")))
            return _trust_device(resp, user.username)
        return render_template("login.html", error="Wrong username or password."), 401
    return render_template("login.html", error=None)


@bp.route("/logout", methods=["POST"])
def logout():
    if "sid" in session:
        with runtime().db.session() as s:
            end_session(s, session["sid"])
    session.clear()
    return redirect(url_for("public.home"))


@bp.route("/account", methods=["GET", "POST"])
@require_role("clerk")
def account():
    message, status = None, 200
    if request.method == "POST":
        try:
            user = check_password(g.user.username, request.form.get("current") or "", purpose="account")
        except TooManyRequests as exc:
            return render_template("account.html", message=exc.description), 429, _retry_after(exc)
        if user is None:
            message, status = "Your current password is wrong.", 400
        elif request.form.get("new") != request.form.get("repeat"):
            message, status = "The new passwords differ.", 400
        else:
            try:
                with runtime().db.session() as s:
                    set_password(s, s.get(User, g.user.id), request.form.get("new") or "")  # ends every session
            except SanaripError as exc:
                message, status = str(exc), 400
            else:
                _begin_session(g.user.id)  # this browser stays logged in, with a new session
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
            if not target.active:
                end_sessions(s, target.id)
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
