"""Seeding a database with committees, sittings, transcripts and media for web tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sanarip.catalog import add_committee
from sanarip.medialayout import segment_key
from sanarip.models import MediaSegment, Person, Sitting, TranscriptSegment
from sanarip.runtime import Runtime
from search import open_index
from search.documents import sitting_documents


def words_for(text: str, start: float, end: float) -> list[dict]:
    parts = text.split()
    step = (end - start) / max(1, len(parts))
    return [{"word": (" " if i else "") + p, "start": round(start + i * step, 3),
             "end": round(start + (i + 1) * step, 3), "prob": 0.9} for i, p in enumerate(parts)]


def seed(rt: Runtime, media: bytes | None = None) -> dict[str, int]:
    """Two committees, a person, a transcribed sitting (with media) and a live one."""
    with rt.db.session() as s:
        budget = add_committee(s, "budget", "Budget committee", names={"ky": "Бюджет комитети",
                                                                         "ru": "Комитет по бюджету"})
        add_committee(s, "health", "Health committee")
        person = Person(name="Айгуль Асанова", faction="Ата-Журт", role="депутат")
        s.add(person)
        s.flush()
        start = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
        sitting = Sitting(committee_id=budget.id, title="Бюджет на 2027 год", status="transcribed",
                          started_at=start, ended_at=start + timedelta(minutes=5), duration=30.0,
                          scheduled_start=start)
        live = Sitting(committee_id=budget.id, title="Live sitting", status="live", started_at=start)
        upcoming = Sitting(committee_id=budget.id, title="Next week", status="scheduled",
                           scheduled_start=datetime(2099, 1, 1, 4, tzinfo=UTC),
                           scheduled_end=datetime(2099, 1, 1, 6, tzinfo=UTC))
        s.add_all([sitting, live, upcoming])
        s.flush()
        lines = [
            (0.0, 4.0, "Заседание комитета по бюджету открыто.", person.id),
            (4.0, 9.5, "Депутаты обсуждают бюджет на следующий год.", person.id),
            (9.5, 14.0, "<script>alert('xss')</script> текст & символы", None),
            (14.0, 20.0, "The committee approved the budget report.", None),
        ]
        for a, b, text, speaker in lines:
            s.add(TranscriptSegment(sitting_id=sitting.id, start=a, end=b, text=text, words=words_for(text, a, b),
                                    speaker_id=speaker, language="ru", source="final"))
        s.add(TranscriptSegment(sitting_id=live.id, start=1.0, end=3.0, text="Живой текст заседания.", words=[],
                                language="ru", source="live"))
        if media is not None:
            for seq in range(3):
                key = segment_key(sitting.id, seq)
                rt.storage.put_bytes(key, media)
                s.add(MediaSegment(sitting_id=sitting.id, seq=seq, media_start=seq * 10.0, duration=10.0,
                                   wall_clock_start=start + timedelta(seconds=seq * 10), path=key))
        ids = {"sitting": sitting.id, "live": live.id, "upcoming": upcoming.id, "person": person.id}
    index = open_index(rt.settings)
    with rt.db.session(readonly=True) as s:
        for sid in (ids["sitting"], ids["live"]):
            index.replace_sitting(sid, sitting_documents(s, s.get(Sitting, sid)))
    index.close()
    return ids
