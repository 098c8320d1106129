"""One clock for every date a person reads or filters by: the configured zone (``SANARIP_TIMEZONE``).

Instants are stored in UTC; a person thinks in the parliament's local time. A sitting that starts
at 01:44 in Bishkek on 2 December is a 2 December sitting in search hits, the API, date filters
and facets, exports, feeds and pages alike. Everything that turns an instant into a day, or a day
into a range of instants, goes through here.

The zone is process-wide: ``configure`` is called by ``Runtime`` from the settings; until then
(pure-Python uses such as ``sanarip transcribe FILE``) it is the settings' default zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Bishkek"
_zone: tzinfo = ZoneInfo(DEFAULT_ZONE)


def configure(zone: tzinfo | str) -> None:
    """Set the process's zone (``Runtime`` does this from ``SANARIP_TIMEZONE``)."""
    global _zone
    _zone = ZoneInfo(zone) if isinstance(zone, str) else zone


def zone() -> tzinfo:
    return _zone


def local(dt: datetime, tz: tzinfo | None = None) -> datetime:
    """``dt`` in the configured zone; a naive value is taken as UTC (how the database stores it)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(tz or _zone)


def local_date(dt: datetime, tz: tzinfo | None = None) -> date:
    """The calendar day of an instant as people in the configured zone name it."""
    return local(dt, tz).date()


def local_iso(dt: datetime | None, tz: tzinfo | None = None) -> str | None:
    """ISO 8601 with the local offset (``2026-12-02T01:44:00+06:00``); None stays None."""
    return local(dt, tz).isoformat() if dt is not None else None


def local_label(dt: datetime | None, tz: tzinfo | None = None) -> str:
    """``YYYY-MM-DD HH:MM`` in the configured zone, for pages and terminals ("" for None)."""
    return local(dt, tz).strftime("%Y-%m-%d %H:%M") if dt is not None else ""


def day_start(day: date, tz: tzinfo | None = None) -> datetime:
    """The first instant of a local calendar day (aware, in the configured zone)."""
    return datetime.combine(day, time(0, 0), tz or _zone)


def day_range(day_from: date | None, day_to: date | None, tz: tzinfo | None = None
              ) -> tuple[datetime | None, datetime | None]:
    """A ``from``/``to`` day filter (both inclusive, local days) as a half-open UTC instant range."""
    lo = day_start(day_from, tz).astimezone(UTC) if day_from else None
    hi = day_start(day_to + timedelta(days=1), tz).astimezone(UTC) if day_to else None
    return lo, hi


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` day filter; raises ValueError with the expected form."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
