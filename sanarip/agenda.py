"""A sitting's agenda: ordered items (bill number, title, link) placed on its media timeline.

Items arrive three ways: an import (which replaces the whole agenda, so running it twice gives
the same result), a clerk's "next item" during the live sitting (placed at the wall clock of the
press), and edits afterwards. An item without an end lasts until the next one starts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import accumulate
from typing import Any, Protocol, TypeVar
from urllib.parse import urlparse

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sanarip import livestate
from sanarip.errors import NotFound, SanaripError
from sanarip.limits import MAX_MEDIA_SECONDS
from sanarip.models import AgendaItem, Revision, Sitting
from sanarip.sittings import get_sitting
from sanarip.texthygiene import checked_text
from sanarip.timeline import Timeline

MAX_ITEMS = 500
MAX_IDENTIFIER = 200  # characters of an item's identifier (the column's width)
MAX_TITLE = 1000
FIELDS = {"identifier", "title", "link", "start", "start_date", "end", "end_date"}


class AgendaError(SanaripError):
    """An agenda item that cannot be stored (the message names it by its index)."""


def _text(rec: dict, key: str, where: str, limit: int, required: bool = True) -> str | None:
    value = rec.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise AgendaError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise AgendaError(f"{where}: '{key}' must be a text of at most {limit} characters")
    try:
        return checked_text(value, key).strip()
    except SanaripError as exc:
        raise AgendaError(f"{where}: {exc}") from None


def _when(rec: dict, key: str, where: str, timeline: Timeline, tz: Any) -> float | None:
    """Media seconds from ``key`` (seconds) or ``key_date`` (ISO wall clock, placed on the timeline)."""
    seconds, stamp = rec.get(key), rec.get(f"{key}_date")
    if seconds is not None and stamp is not None:
        raise AgendaError(f"{where}: give '{key}' or '{key}_date', not both")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_MEDIA_SECONDS:
            raise AgendaError(f"{where}: '{key}' must be media seconds (a number from 0)")
        return float(seconds)
    if stamp is None:
        return None
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise AgendaError(f"{where}: '{key}_date' must be an ISO time such as 2026-03-02T10:15:00+06:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        return timeline.to_media(moment).media_time
    except SanaripError as exc:
        raise AgendaError(f"{where}: {exc}") from None


def parse_items(records: Any, timeline: Timeline, tz: Any) -> list[dict[str, Any]]:
    """Validated item values, in order; AgendaError names the first bad record."""
    if not isinstance(records, list):
        raise AgendaError("an agenda is a JSON list of items")
    if len(records) > MAX_ITEMS:
        raise AgendaError(f"at most {MAX_ITEMS} agenda items")
    items = []
    for i, rec in enumerate(records):
        where = f"item {i}"
        if not isinstance(rec, dict):
            raise AgendaError(f"{where}: expected an object")
        unknown = sorted(set(rec) - FIELDS)
        if unknown:
            raise AgendaError(f"{where}: unknown field(s): {', '.join(unknown)}")
        link = _text(rec, "link", where, 2000, required=False)
        if link and urlparse(link).scheme not in ("http", "https"):
            raise AgendaError(f"{where}: 'link' must be an http(s) URL")
        start = _when(rec, "start", where, timeline, tz)
        if start is None:
            raise AgendaError(f"{where}: 'start' (media seconds) or 'start_date' (ISO wall clock) is required")
        end = _when(rec, "end", where, timeline, tz)
        if end is not None and end < start:
            raise AgendaError(f"{where}: ends before it starts")
        if items and start < items[-1]["start"]:
            raise AgendaError(f"{where}: starts before the item before it")
        items.append({"identifier": _text(rec, "identifier", where, MAX_IDENTIFIER),
                      "title": _text(rec, "title", where, MAX_TITLE),
                      "link": link, "start": start, "end": end})
    return items


AGENDA_REVISION = "agenda"  # Revision.action of a clerk's agenda edit (before/after: the items)


def replace_agenda(s: Session, sitting_id: int, records: Any, tz: Any,
                   editor_id: int | None = None) -> list[AgendaItem]:
    """Replace the sitting's agenda with ``records`` (the import's JSON list), in the caller's transaction.

    With ``editor_id`` (a clerk's edit in the editor or through the API) a change is kept in the
    sitting's history as a revision holding the items before and after; an unchanged agenda adds none.
    """
    sitting = get_sitting(s, sitting_id)
    items = parse_items(records, Timeline.load(s, sitting), tz)
    before = [stored_item(row) for row in agenda_of(s, sitting_id)]
    s.execute(delete(AgendaItem).where(AgendaItem.sitting_id == sitting_id))
    rows = [AgendaItem(sitting_id=sitting_id, position=n, **values) for n, values in enumerate(items, 1)]
    s.add_all(rows)
    s.flush()
    after = [stored_item(row) for row in rows]
    if editor_id is not None and before != after:
        s.add(Revision(sitting_id=sitting_id, segment_id=None, action=AGENDA_REVISION,
                       before={"segments": [], "agenda": before}, after={"segments": [], "agenda": after},
                       editor_id=editor_id))
        s.flush()
    return rows


def stored_item(row: AgendaItem) -> dict[str, Any]:
    """An item as stored (its own end, None when it lasts until the next): what an edit sends back."""
    return {"identifier": row.identifier, "title": row.title, "link": row.link, "start": row.start, "end": row.end}


def describe_items(items: list[dict[str, Any]]) -> str:
    """One line per item for the history's word diff: "1. Bill 12 — On the budget [0:00:00–0:12:30]"."""
    def clock(seconds: float | None) -> str:
        if seconds is None:
            return "…"
        whole = int(seconds)
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"

    return " | ".join(f"{n}. {i['identifier']} — {i['title']} [{clock(i['start'])}–{clock(i['end'])}]"
                      for n, i in enumerate(items, 1))


def agenda_of(s: Session, sitting_id: int) -> list[AgendaItem]:
    return list(s.scalars(select(AgendaItem).where(AgendaItem.sitting_id == sitting_id)
                          .order_by(AgendaItem.position)))


def item_at(s: Session, sitting_id: int, position: int) -> AgendaItem:
    row = s.scalar(select(AgendaItem).where(AgendaItem.sitting_id == sitting_id, AgendaItem.position == position))
    if row is None:
        raise NotFound(f"sitting {sitting_id} has no agenda item {position}")
    return row


class Placed(Protocol):
    """Anything with an item's place on the timeline (an AgendaItem row, an export's AgendaEntry)."""

    start: float
    end: float | None


P = TypeVar("P", bound=Placed)


def spans(items: Sequence[P], duration: float) -> list[tuple[P, float, float]]:
    """Each item with its effective span: its own end, else the next item's start, else the sitting's end."""
    out = []
    for n, item in enumerate(items):
        following = items[n + 1].start if n + 1 < len(items) else max(duration, item.start)
        out.append((item, item.start, item.end if item.end is not None else following))
    return out


def item_for_time(items: Sequence[P], duration: float, media_time: float) -> P | None:
    """The item under way at ``media_time`` (None before the first)."""
    return item_locator(items, duration)(media_time)


def item_locator(items: Sequence[P], duration: float) -> Callable[[float], P | None]:
    """``item_for_time`` for many moments of one sitting (every segment, when it is indexed).

    The spans are computed once and the latest item starting by the moment is found by bisection;
    only where spans overlap (an explicit end past the next start) does it look further back, so
    indexing a long sitting stays about linear in its segments.
    """
    placed = spans(items, duration)
    starts = [start for _, start, _ in placed]
    ordered = all(a <= b for a, b in zip(starts, starts[1:], strict=False))
    reach = list(accumulate((end for _, _, end in placed), max))  # the latest end among items 0..n

    def locate(media_time: float) -> P | None:
        first = bisect_right(starts, media_time) if ordered else len(placed)  # unordered: look at every item
        for n in range(first - 1, -1, -1):
            if placed[n][1] > media_time:
                continue
            if reach[n] <= media_time and n < len(placed) - 1:  # no item up to n lasts until then
                return None
            item, _start, end = placed[n]
            if media_time < end or n == len(placed) - 1:
                return item
        return None

    return locate


def item_dict(item: AgendaItem, end: float | None = None) -> dict[str, Any]:
    return {"position": item.position, "identifier": item.identifier, "title": item.title, "link": item.link,
            "start": round(item.start, 3), "end": round(end if end is not None else item.end, 3)
            if (end is not None or item.end is not None) else None}


def agenda_dicts(s: Session, sitting: Sitting) -> list[dict[str, Any]]:
    return [item_dict(item, end) for item, _start, end in spans(agenda_of(s, sitting.id), sitting.duration or 0.0)]


def next_item(s: Session, sitting_id: int, identifier: str, title: str, when: datetime,
              link: str | None = None) -> AgendaItem:
    """A clerk's "next item": ends the current item and starts a new one at wall clock ``when``."""
    sitting = get_sitting(s, sitting_id)
    values = parse_items([{"identifier": identifier, "title": title, "link": link or None}
                          | {"start_date": when.isoformat()}], Timeline.load(s, sitting), when.tzinfo)[0]
    last = s.scalar(select(AgendaItem).where(AgendaItem.sitting_id == sitting_id)
                    .order_by(AgendaItem.position.desc()).limit(1))
    if last is not None:
        if values["start"] < last.start:
            raise AgendaError("the next item cannot start before the current one")
        if last.end is None:
            last.end = values["start"]
    position = (s.scalar(select(func.max(AgendaItem.position)).where(AgendaItem.sitting_id == sitting_id)) or 0) + 1
    row = AgendaItem(sitting_id=sitting_id, position=position, **values)
    s.add(row)
    s.flush()
    return row


def current_item_for_live(s: Session, sitting_id: int) -> dict[str, Any] | None:
    """The live-state slot ``agenda_item``: the newest item of the live sitting, or None."""
    last = s.scalar(select(AgendaItem).where(AgendaItem.sitting_id == sitting_id)
                    .order_by(AgendaItem.position.desc()).limit(1))
    return item_dict(last) if last is not None else None


livestate.register_slot("agenda_item", current_item_for_live)
