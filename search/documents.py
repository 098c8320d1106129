"""Turning what the public sees of a sitting into search documents."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.models import Sitting, TranscriptSegment
from sanarip.transcripts import public_stenogram
from search.base import Document


def sitting_documents(s: Session, sitting: Sitting) -> list[Document]:
    st = public_stenogram(s, sitting)
    official = st.publication is not None
    day = st.date or "1970-01-01"
    return [
        Document(segment=seg.id, sitting=sitting.id, committee=st.committee, day=day, speaker=seg.speaker,
                 speaker_id=seg.speaker_id, language=seg.language, start=seg.start, end=seg.end, text=seg.text,
                 official=official)
        for seg in st.segments if seg.id is not None and seg.text.strip()
    ]


def all_documents(s: Session) -> Iterator[Document]:
    for sitting in s.scalars(select(Sitting).order_by(Sitting.id)):
        yield from sitting_documents(s, sitting)


def count_segments(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(TranscriptSegment)) or 0
