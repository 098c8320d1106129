"""Ranges every number from outside is checked against before it reaches the database.

Ids and versions are 32-bit integer columns on PostgreSQL (and SQLite cannot bind a Python int
beyond 64 bits), so a larger value is "not found" or bad input, never a database error. Media
times beyond a week are no sitting's.
"""

from __future__ import annotations

from typing import Any

MAX_ID = 2**31 - 1
MAX_MEDIA_SECONDS = 7 * 24 * 3600.0


def is_id(value: Any) -> bool:
    """True for an int (not a bool) a row id or version can have."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID
