"""Turning what the public sees of a sitting into search documents."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.agenda import item_locator
from sanarip.models import Sitting, TranscriptSegment
from sanarip.transcripts import public_stenogram
from search.base import Document


def sitting_documents(s: Session, sitting: Sitting) -> list[Document]:
    """Every public segment of the sitting, each with the agenda item its start falls in.

    The agenda is the sitting's current one (also for a publication): an agenda import or edit
    re-indexes the sitting through ``Runtime.indexer``, like a change of its text.
    """
    st = public_stenogram(s, sitting)
    official = st.publication is not None
    day = st.date or "1970-01-01"
    locate = item_locator(sorted(st.agenda, key=lambda a: a.position), sitting.duration or 0.0)
    docs = []
    for seg in st.segments:
        if seg.id is None or not seg.text.strip():
            continue
        item = locate(seg.start)
        docs.append(Document(
            segment=seg.id, sitting=sitting.id, committee=st.committee, day=day, speaker=seg.speaker,
            speaker_id=seg.speaker_id, language=seg.language, start=seg.start, end=seg.end, text=seg.text,
            official=official, agenda=item.identifier if item else None, agenda_title=item.title if item else None,
            agenda_position=item.position if item else None))
    return docs


def all_documents(s: Session) -> Iterator[Document]:
    for sitting in s.scalars(select(Sitting).order_by(Sitting.id)):
        yield from sitting_documents(s, sitting)


def count_segments(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(TranscriptSegment)) or 0
