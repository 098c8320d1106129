"""Minutes of speech per language, per sitting and committee, and what is still to transcribe.

The clerks' Kyrgyz queue is the segments with ``needs_transcription`` (heard as Kyrgyz, no
Kyrgyz model configured); this module counts them for the queue page and the report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sanarip.models import Committee, Sitting, TranscriptSegment
from sanarip.sittings import ARCHIVED

QUEUE_LIMIT = 500


@dataclass
class LanguageMinutes:
    """One sitting's (or committee's) speech: seconds per language, seconds still waiting for a clerk."""

    label: str
    seconds: dict[str, float] = field(default_factory=dict)
    pending: float = 0.0

    def minutes(self, language: str) -> float:
        return round(self.seconds.get(language, 0.0) / 60, 1)

    @property
    def pending_minutes(self) -> float:
        return round(self.pending / 60, 1)


def waiting_segments(s: Session, limit: int = QUEUE_LIMIT) -> list[tuple[TranscriptSegment, Sitting]]:
    """The passages waiting for a transcription, oldest sitting first, in time order within it."""
    rows = s.execute(select(TranscriptSegment, Sitting).join(Sitting, Sitting.id == TranscriptSegment.sitting_id)
                     .where(TranscriptSegment.needs_transcription.is_(True))
                     .order_by(Sitting.id, TranscriptSegment.start).limit(limit)).all()
    return [(seg, st) for seg, st in rows if st.status in ARCHIVED]  # editable: after the final pass


def language_report(s: Session) -> tuple[list[LanguageMinutes], list[LanguageMinutes], list[str]]:
    """(per sitting, per committee, the languages seen), from every segment's length and label."""
    rows = s.execute(
        select(Sitting.id, Sitting.title, Committee.slug, TranscriptSegment.language,
               TranscriptSegment.needs_transcription, func.sum(TranscriptSegment.end - TranscriptSegment.start))
        .join(Sitting, Sitting.id == TranscriptSegment.sitting_id).join(Committee, Committee.id == Sitting.committee_id)
        .group_by(Sitting.id, Sitting.title, Committee.slug, TranscriptSegment.language,
                  TranscriptSegment.needs_transcription)
        .order_by(Sitting.id)).all()
    sittings: dict[int, LanguageMinutes] = {}
    committees: dict[str, LanguageMinutes] = defaultdict(lambda: LanguageMinutes(""))
    languages: set[str] = set()
    for sitting_id, title, slug, language, pending, seconds in rows:
        lang = language or "?"
        languages.add(lang)
        for entry in (sittings.setdefault(sitting_id, LanguageMinutes(f"{slug} · {title or sitting_id}")),
                      committees[slug]):
            entry.seconds[lang] = entry.seconds.get(lang, 0.0) + float(seconds or 0.0)
            if pending:
                entry.pending += float(seconds or 0.0)
    for slug, entry in committees.items():
        entry.label = slug
    order = sorted(languages, key=lambda c: (c not in ("ky", "ru", "en"), ("ky", "ru", "en").index(c)
                                             if c in ("ky", "ru", "en") else 0, c))
    return list(sittings.values()), [committees[k] for k in sorted(committees)], order
