"""Users, roles, API tokens and the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from sanarip.errors import NotFound, SanaripError
from sanarip.models import ROLES, ApiToken, AuditLog, User

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
    """Their sessions and tokens stop working at once (every request re-reads ``active``)."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    user.active = False
    audit(s, None, "user.disable", {"username": username})


def authenticate(s: Session, username: str, password: str) -> User | None:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(generate_password_hash("x"), password)  # same work either way
        return None
    if not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def set_password(s: Session, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = generate_password_hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, username: str) -> str:
    """A new API token for ``username``; only its hash is stored."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise SanaripError(f"no user {username!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, token_hash=_token_hash(token)))
    audit(s, None, "token.create", {"username": username})
    return token


def user_for_token(s: Session, token: str) -> User | None:
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None:
        return None
    user = s.get(User, row.user_id)
    return user if user is not None and user.active else None


def audit(s: Session, user_id: int | None, action: str, detail: dict[str, Any]) -> None:
    s.add(AuditLog(user_id=user_id, action=action, detail=detail))
