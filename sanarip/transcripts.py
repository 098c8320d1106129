"""Transcript rows: storing automatic passes and reading what the public sees.

What the public sees (DESIGN.md): before a sitting's first publication, the working
transcript (automatic text plus clerks' corrections), labelled automatic; after it, the
latest publication, labelled official. Clerks' later edits wait for the next publication.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sanarip.agenda import agenda_of
from sanarip.clock import local_date, local_iso
from sanarip.errors import NotFound
from sanarip.models import Person, Publication, SegmentSource, Sitting, TranscriptSegment
from sanarip.stenogram import AgendaEntry, Segment, Stenogram, VoteEntry, Word
from sanarip.timeline import Timeline
from sanarip.votes import events_of, label


def row_to_segment(row: TranscriptSegment, speaker: str | None = None) -> Segment:
    return Segment(
        id=row.id, start=row.start, end=row.end, text=row.text,
        words=[Word(**w) for w in row.words or []],
        speaker=speaker, speaker_id=row.speaker_id, language=row.language,
        language_prob=row.language_prob, unreliable=row.unreliable, needs_transcription=row.needs_transcription,
        speaker_label=row.speaker_label, speaker_proposal=row.speaker_proposal,
    )


def segment_to_row(sitting_id: int, seg: Segment, source: str) -> TranscriptSegment:
    return TranscriptSegment(
        sitting_id=sitting_id, start=seg.start, end=seg.end, text=seg.text,
        words=[{"word": w.word, "start": w.start, "end": w.end, "prob": w.prob} for w in seg.words],
        language=seg.language, language_prob=seg.language_prob, unreliable=seg.unreliable,
        source=source, speaker_id=seg.speaker_id, needs_transcription=seg.needs_transcription,
        speaker_label=seg.speaker_label, speaker_proposal=seg.speaker_proposal,
    )


def working_segments(s: Session, sitting_id: int) -> list[Segment]:
    """The working copy: automatic text plus clerks' corrections, in time order."""
    rows = s.execute(
        select(TranscriptSegment, Person.name)
        .outerjoin(Person, TranscriptSegment.speaker_id == Person.id)
        .where(TranscriptSegment.sitting_id == sitting_id)
        .order_by(TranscriptSegment.start, TranscriptSegment.id)
    ).all()
    return [row_to_segment(row, name) for row, name in rows]


def latest_publication(s: Session, sitting_id: int) -> Publication | None:
    return s.scalar(select(Publication).where(Publication.sitting_id == sitting_id)
                    .order_by(Publication.number.desc()).limit(1))


def shown_publication(s: Session, sitting_id: int, number: int | None = None) -> Publication | None:
    """Publication ``number`` (NotFound if absent), or by default the latest one, or None."""
    if number is None:
        return latest_publication(s, sitting_id)
    pub = s.scalar(select(Publication).where(Publication.sitting_id == sitting_id, Publication.number == number))
    if pub is None:
        raise NotFound(f"sitting {sitting_id} has no publication {number}")
    return pub


def public_stenogram(s: Session, sitting: Sitting, publication: int | None = None) -> Stenogram:
    """The stenogram the public sees (or a given publication number)."""
    pub = shown_publication(s, sitting.id, publication)
    segments = [Segment.from_dict(d) for d in pub.segments] if pub else working_segments(s, sitting.id)
    when = sitting.started_at or sitting.scheduled_start or sitting.created_at
    return Stenogram(
        segments=segments, sitting_id=sitting.id, title=sitting.title, committee=sitting.committee.slug,
        date=local_date(when).isoformat() if when else None,
        publication=pub.number if pub else None,
        published_at=local_iso(pub.published_at) if pub else None,
        **record_parts(s, sitting),
        language=sitting.committee.default_language,
    )


def transcript_language(s: Session, sitting: Sitting, pub: Publication | None) -> str:
    """The language most of the shown transcript is in (``<track srclang>``), else the committee's."""
    if pub is not None:
        counts = Counter(d.get("language") for d in pub.segments if d.get("language"))
        return counts.most_common(1)[0][0] if counts else sitting.committee.default_language
    top = s.scalar(select(TranscriptSegment.language).where(TranscriptSegment.sitting_id == sitting.id,
                                                            TranscriptSegment.language.is_not(None))
                   .group_by(TranscriptSegment.language).order_by(func.count().desc()).limit(1))
    return top or sitting.committee.default_language


def record_parts(s: Session, sitting: Sitting) -> dict:
    """The agenda, vote events and wall clock of a sitting, for the exports."""
    timeline = Timeline.load(s, sitting)
    agenda = [AgendaEntry(a.position, a.identifier, a.title, a.start, a.end) for a in agenda_of(s, sitting.id)]
    votes = [VoteEntry(ve.identifier, label(ve), ve.media_time, ve.start_date.isoformat(timespec="seconds"),
                       ve.result, {c["option"]: c["value"] for c in ve.counts}) for ve in events_of(s, sitting.id)]
    return {"agenda": agenda, "votes": votes, "wall_clock": timeline.to_wall}


def replace_automatic(s: Session, sitting_id: int, segments: list[Segment],
                      source: SegmentSource = SegmentSource.FINAL) -> int:
    """Replace the automatic rows (live draft, earlier final pass) with ``segments``.

    Rows a clerk has edited (source ``clerk``) are kept, and new segments overlapping them in
    time are dropped, so a re-run never overwrites a correction. Returns the rows inserted.
    """
    kept = s.execute(select(TranscriptSegment.start, TranscriptSegment.end).where(
        TranscriptSegment.sitting_id == sitting_id, TranscriptSegment.source == SegmentSource.CLERK)).all()
    s.execute(delete(TranscriptSegment).where(TranscriptSegment.sitting_id == sitting_id,
                                              TranscriptSegment.source.in_((SegmentSource.LIVE, SegmentSource.FINAL))))
    fresh = [seg for seg in segments if not any(seg.start < end and start < seg.end for start, end in kept)]
    s.add_all(segment_to_row(sitting_id, seg, source) for seg in fresh)
    s.flush()
    return len(fresh)
