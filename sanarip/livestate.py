"""The live-state file: one small versioned JSON document per live sitting, in public storage.

Viewers poll it with conditional GETs (ETag / If-None-Match) beside the HLS playlists, so an
audience costs static-file requests and no database query. Any process may rewrite it (the
live job after each pass, the web process after a vote is pushed): ``write`` rebuilds the whole
document from the database and stores it atomically (temp file + rename on a local folder, a
single PUT on S3), so a reader never sees half a document and two writers cannot merge wrongly.

Schema (``SCHEMA_VERSION`` 1; the one definition, summarized in the README)::

    {"version": 1,
     "sitting": int, "status": "scheduled" | "live" | "recorded" | …,
     "updated_at": ISO 8601 UTC,
     "media_time": float,        # seconds recorded so far (the sitting's media timeline)
     "committed_until": float,   # end of the newest committed transcript line (media seconds)
     "partial": {"start": float, "text": str, "language": str | null} | null,  # words not yet in a line
     "agenda_item": {...} | null,     # the current agenda item (filled by the record's agenda code)
     "vote_events": [{...}],          # recent vote events, newest last (filled by the votes code)
     "speaker_proposals": [{"segment", "start", "end", "person_id", "name", "score", "source",
                            "automatic": true}]}  # newest live lines whose voice matched a profile
                                                  # (sanarip.speakers; segment = the line's cue id)

Clients ignore keys they do not know; a change that breaks readers bumps ``version``.
The three slots are filled by providers registered with ``register_slot`` (their owners'
modules call it at import); until then they hold their empty values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.errors import NotFound
from sanarip.medialayout import sitting_prefix
from sanarip.models import MediaSegment, SegmentSource, Sitting, TranscriptSegment, utcnow
from sanarip.sittings import SittingStatus

SCHEMA_VERSION = 1
CONTENT_TYPE = "application/json"

SlotProvider = Callable[[Session, int], Any]
# slot name → (empty value, provider); a provider returns the slot's JSON-ready value.
_EMPTY: dict[str, Any] = {"agenda_item": None, "vote_events": [], "speaker_proposals": []}
_PROVIDERS: dict[str, SlotProvider] = {}


def state_key(sitting_id: int) -> str:
    """Where the sitting's live-state document lives (public: under ``sittings/<id>/``)."""
    return f"{sitting_prefix(sitting_id)}/live.json"


def register_slot(name: str, provider: SlotProvider) -> None:
    """Let ``provider(session, sitting_id)`` fill slot ``name`` (agenda_item, vote_events, speaker_proposals)."""
    if name not in _EMPTY:
        raise ValueError(f"unknown live-state slot {name!r}; slots: {', '.join(_EMPTY)}")
    _PROVIDERS[name] = provider


def build(session: Session, sitting_id: int) -> dict[str, Any]:
    """The live-state document of a sitting, computed from the database; NotFound if no such sitting."""
    row = session.execute(select(Sitting.status, Sitting.duration, Sitting.live_partial)
                          .where(Sitting.id == sitting_id)).one_or_none()
    if row is None:
        raise NotFound(f"no sitting {sitting_id}")
    status, duration, partial = row
    recorded = session.scalar(select(func.sum(MediaSegment.duration)).where(MediaSegment.sitting_id == sitting_id,
                                                                            MediaSegment.is_gap.is_(False)))
    committed = session.scalar(select(func.max(TranscriptSegment.end)).where(
        TranscriptSegment.sitting_id == sitting_id, TranscriptSegment.source == SegmentSource.LIVE))
    doc: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "sitting": sitting_id,
        "status": status,
        "updated_at": utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "media_time": round(float(recorded or duration or 0.0), 3),
        "committed_until": round(float(committed or 0.0), 3),
        "partial": _partial(partial) if status == SittingStatus.LIVE else None,
    }
    for name, empty in _EMPTY.items():
        provider = _PROVIDERS.get(name)
        doc[name] = provider(session, sitting_id) if provider else (list(empty) if isinstance(empty, list) else empty)
    return doc


def _partial(partial: dict[str, Any] | None) -> dict[str, Any] | None:
    if not partial or not str(partial.get("text", "")).strip():
        return None
    return {"start": round(float(partial.get("start", 0.0)), 3), "text": str(partial["text"]),
            "language": partial.get("language")}


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def write(rt, sitting_id: int, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rebuild the document from the database and store it atomically; returns it.

    ``rt`` is a ``sanarip.runtime.Runtime`` (its ``db`` and ``storage``). With ``previous`` (the
    document this process wrote last) nothing is stored when only ``updated_at`` would change,
    so viewers' conditional GETs keep getting 304s while nothing happens.
    """
    with rt.db.session(readonly=True) as s:
        doc = build(s, sitting_id)
    if previous is not None and {**previous, "updated_at": doc["updated_at"]} == doc:
        return previous
    rt.storage.put_bytes(state_key(sitting_id), encode(doc), CONTENT_TYPE)
    return doc


def rewrite(rt, sitting_id: int) -> dict[str, Any]:
    """``write`` under the name web/record.py calls after a vote or agenda push."""
    return write(rt, sitting_id)
