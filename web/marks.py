"""Agenda items and vote events as marks on a sitting page: chapters, timeline marks, transcript headings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sanarip.agenda import agenda_dicts
from sanarip.models import Sitting
from sanarip.stenogram import Turn
from sanarip.votes import events_of, label


def record_marks(s: Session, sitting: Sitting) -> dict[str, list[dict[str, Any]]]:
    """``{"agenda": [...], "votes": [...]}`` (small: read on every sitting page)."""
    votes = [{"identifier": ve.identifier, "media_time": ve.media_time, "label": label(ve), "in_gap": ve.in_gap}
             for ve in events_of(s, sitting.id)]
    return {"agenda": agenda_dicts(s, sitting), "votes": votes}


def interleave(turns: list[Turn], marks: dict[str, list[dict[str, Any]]]) -> list[tuple[str, Any]]:
    """Turns with ("heading", item) and ("vote", event) blocks before the first turn at or after their time."""
    pending = sorted([(item["start"], 0, "heading", item) for item in marks["agenda"]]
                     + [(ve["media_time"], 1, "vote", ve) for ve in marks["votes"]], key=lambda x: (x[0], x[1]))
    blocks: list[tuple[str, Any]] = []
    for turn in turns:
        while pending and pending[0][0] <= turn.start + 0.001:
            _, _, kind, obj = pending.pop(0)
            blocks.append((kind, obj))
        blocks.append(("turn", turn))
    blocks.extend((kind, obj) for _, _, kind, obj in pending)
    return blocks
