"""Counters every process shares (rows of ``throttle``): login back-off and fixed-window rate limits.

They live in the database so that two server processes (or machines) see the same counts; rows
that no longer hold anything back are pruned, so an attacker's many addresses cost bounded rows.
Functions take ``now`` (unix seconds) so their arithmetic can be checked without waiting.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sanarip.models import Throttle

LOGIN_FORGET = 86400.0  # a username's failures are forgotten a day after the last one
ADDRESS_WINDOW = 3600.0  # failed logins per address are counted per hour
PRUNE_CHANCE = 0.02  # a write prunes stale rows with this probability (amortised, bounded table)


def _row(s: Session, key: str) -> Throttle:
    """The row for ``key``, created if missing and locked for this transaction (PostgreSQL)."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(Throttle).values(key=key, count=0, window_start=0.0, blocked_until=0.0)
              .on_conflict_do_nothing(index_elements=["key"]))
    row = s.scalars(select(Throttle).where(Throttle.key == key).with_for_update()
                    .execution_options(populate_existing=True)).one()
    return row


def wait_for(s: Session, keys: list[str], now: float | None = None) -> float:
    """Seconds until every key lets an attempt through (0: now). A read: no lock taken."""
    now = time.time() if now is None else now
    until = s.scalar(select(Throttle.blocked_until).where(Throttle.key.in_(keys))
                     .order_by(Throttle.blocked_until.desc()).limit(1))
    return max(0.0, (until or 0.0) - now)


def backoff_failure(s: Session, key: str, after: int, longest: float, now: float | None = None) -> float:
    """Count a failure of ``key``; from the ``after``-th on, the next attempt waits 2, 4, 8 … s (≤ ``longest``).

    Never a hard lock: the wait always ends, and then the right password is checked as usual.
    """
    now = time.time() if now is None else now
    row = _row(s, key)
    if now - row.window_start > LOGIN_FORGET:
        row.count = 0
    row.count += 1
    row.window_start = now
    if row.count >= after:
        row.blocked_until = now + min(longest, 2.0 ** min(64, row.count - after + 1))
    _maybe_prune(s, now)
    return max(0.0, row.blocked_until - now)


def window_hit(s: Session, key: str, limit: int, window: float, now: float | None = None) -> float:
    """Count one event of ``key`` in its fixed window; past ``limit`` the key is held until the window ends.

    Returns the seconds to wait (0: allowed).
    """
    now = time.time() if now is None else now
    row = _row(s, key)
    if now - row.window_start >= window:
        row.window_start, row.count = now, 0
    row.count += 1
    if row.count >= limit:
        row.blocked_until = row.window_start + window
    _maybe_prune(s, now)
    return max(0.0, row.blocked_until - now) if row.count > limit else 0.0


def clear(s: Session, key: str) -> None:
    s.execute(delete(Throttle).where(Throttle.key == key))


def prune(s: Session, now: float | None = None) -> int:
    """Delete rows that hold nothing back any more; returns how many."""
    now = time.time() if now is None else now
    stale = (Throttle.blocked_until < now) & (Throttle.window_start < now - LOGIN_FORGET)
    short = (Throttle.blocked_until < now) & (Throttle.window_start < now - ADDRESS_WINDOW) \
        & ~Throttle.key.like("login-user:%")
    return s.execute(delete(Throttle).where(stale | short)).rowcount


def _maybe_prune(s: Session, now: float) -> None:
    if random.random() < PRUNE_CHANCE:  # noqa: S311 - not security-sensitive
        prune(s, now)
