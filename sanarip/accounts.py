"""Users, roles, server-side sessions, API tokens and the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from sanarip.errors import NotFound, SanaripError
from sanarip.models import ROLES, ApiToken, AuditLog, User, WebSession, utcnow

USERNAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{2,64}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "snp_"


def role_at_least(role: str, needed: str) -> bool:
    """clerk < editor < admin."""
    return ROLES.index(role) >= ROLES.index(needed)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise SanaripError(f"password too short: at least {MIN_PASSWORD} characters")


def add_user(s: Session, username: str, password: str, role: str) -> User:
    if not USERNAME_RE.match(username):
        raise SanaripError("username: 2-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise SanaripError(f"role must be one of {', '.join(ROLES)}")
    check_password_strength(password)
    if s.scalar(select(User).where(User.username == username)):
        raise SanaripError(f"user {username!r} exists already")
    user = User(username=username, password_hash=generate_password_hash(password), role=role)
    s.add(user)
    s.flush()
    audit(s, None, "user.add", {"username": username, "role": role})
    return user


def disable_user(s: Session, username: str) -> None:
    """Their sessions end and their tokens stop working at once (every request re-reads ``active``)."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.active = False
    end_sessions(s, user.id)
    audit(s, None, "user.disable", {"username": username})


def list_users(s: Session) -> list[dict[str, Any]]:
    """Every account: username, role, whether active, when created (never the password hash)."""
    return [{"username": u.username, "role": u.role, "active": u.active, "created": u.created_at}
            for u in s.scalars(select(User).order_by(User.username))]


def enable_user(s: Session, username: str) -> None:
    """A disabled account may sign in again (with its password; old sessions stay ended)."""
    user = find_user(s, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.active = True
    audit(s, None, "user.enable", {"username": username})


def change_password(s: Session, username: str, password: str) -> None:
    """An operator's password reset: every session of the user ends."""
    user = find_user(s, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    set_password(s, user, password)
    audit(s, None, "user.passwd", {"username": username})


_DUMMY_HASH = generate_password_hash("not a password")


def password_matches(user: User | None, password: str) -> bool:
    """The (slow, scrypt) password check; needs no database, so callers run it outside any transaction.

    An unknown or disabled user costs the same work, so timing does not tell which usernames exist.
    """
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password) and user.active


def find_user(s: Session, username: str) -> User | None:
    return s.scalar(select(User).where(User.username == username))


def authenticate(s: Session, username: str, password: str) -> User | None:
    user = find_user(s, username)
    return user if password_matches(user, password) else None


def set_password(s: Session, user: User, password: str) -> None:
    """A new password ends every session of ``user`` (a thief's included); the caller starts a new one."""
    check_password_strength(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(s, user.id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Sessions ---------------------------------------------------------------------------------------
def start_session(s: Session, user_id: int) -> str:
    """A new session for ``user_id``; returns the random id for the cookie (only its hash is stored)."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    s.add(WebSession(id=_token_hash(sid), user_id=user_id, created_at=now, last_seen_at=now))
    return sid


def session_user(s: Session, sid: str, idle: timedelta, lifetime: timedelta,
                 now: datetime | None = None) -> tuple[User, WebSession] | None:
    """The active user of a live session (not idle longer than ``idle``, younger than ``lifetime``)."""
    now = now or utcnow()
    row = s.get(WebSession, _token_hash(sid))
    if row is None or now - row.last_seen_at > idle or now - row.created_at > lifetime:
        return None
    user = s.get(User, row.user_id)
    return (user, row) if user is not None and user.active else None


def touch_session(s: Session, sid: str) -> None:
    s.execute(update(WebSession).where(WebSession.id == _token_hash(sid)).values(last_seen_at=utcnow()))


def end_session(s: Session, sid: str) -> None:
    s.execute(delete(WebSession).where(WebSession.id == _token_hash(sid)))


def end_sessions(s: Session, user_id: int) -> None:
    s.execute(delete(WebSession).where(WebSession.user_id == user_id))


def prune_sessions(s: Session, idle: timedelta, lifetime: timedelta) -> int:
    now = utcnow()
    return s.execute(delete(WebSession).where((WebSession.last_seen_at < now - idle)
                                              | (WebSession.created_at < now - lifetime))).rowcount


# API tokens ----------------------------------------------------------------------------------------
def parse_days(value: str) -> int:
    """``30d`` or ``30`` → 30 (days); a clear error otherwise."""
    m = re.fullmatch(r"\s*(\d{1,5})\s*d?\s*", value or "")
    if not m or int(m.group(1)) < 1:
        raise SanaripError(f"expiry must be a number of days such as 30d, got {value!r}")
    return int(m.group(1))


def create_token(s: Session, username: str, name: str = "", expires_days: int | None = None) -> str:
    """A new API token for ``username``; only its hash is stored."""
    user = find_user(s, username)
    if user is None:
        raise SanaripError(f"no user {username!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    s.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name, expires_at=expires))
    audit(s, None, "token.create", {"username": username, "name": name, "expires_days": expires_days})
    return token


def list_tokens(s: Session) -> list[dict[str, Any]]:
    rows = s.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id))
    return [{"id": t.id, "user": username, "name": t.name, "created": t.created_at, "expires": t.expires_at,
             "last_used": t.last_used_at, "revoked": t.revoked_at} for t, username in rows]


def revoke_token(s: Session, token_id: int) -> None:
    row = s.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(s, None, "token.revoke", {"id": token_id})


def token_user(s: Session, token: str, now: datetime | None = None) -> tuple[User, ApiToken] | None:
    """The active user of a token that is neither revoked nor expired."""
    now = now or utcnow()
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = s.get(User, row.user_id)
    return (user, row) if user is not None and user.active else None


def user_for_token(s: Session, token: str) -> User | None:
    found = token_user(s, token)
    return found[0] if found else None


def touch_token(s: Session, token_id: int) -> None:
    s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def audit(s: Session, user_id: int | None, action: str, detail: dict[str, Any]) -> None:
    s.add(AuditLog(user_id=user_id, action=action, detail=detail))
