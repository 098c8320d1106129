"""Clerks' corrections: edit, split, merge, revert and publish, with full history.

Every change is a ``Revision`` holding the affected segments before and after, so any change
can be reverted. Saves are optimistic: each carries the segment ``version`` it edits, and a
stale version is refused (``Conflict``) instead of silently overwriting another clerk's work.
After a text edit, words that did not change keep their timestamps; only changed words get
interpolated times (see ``realign_words``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sanarip import clock
from sanarip.accounts import audit
from sanarip.errors import NotFound, SanaripError
from sanarip.langid import committee_languages, label
from sanarip.limits import MAX_MEDIA_SECONDS, is_id
from sanarip.models import Person, Publication, Revision, SegmentSource, Sitting, TranscriptSegment, User, utcnow
from sanarip.sittings import ARCHIVED, SittingStatus, can_become, transition
from sanarip.stenogram import Segment, Word
from sanarip.texthygiene import InvalidText, checked_text
from sanarip.transcripts import latest_publication, working_segments

MAX_TEXT = 5000
EDITABLE_STATUSES = ARCHIVED


class EditError(SanaripError):
    """Bad input for an edit (HTTP 400)."""


class Conflict(SanaripError):
    """The segment changed since the editor loaded it (HTTP 409); ``current`` shows the other edit."""

    def __init__(self, message: str, current: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.current = current


# --- words --------------------------------------------------------------------------------
def _key(word: str) -> str:
    return re.sub(r"[^\w]", "", word.casefold())


def realign_words(old: list[Word], new_text: str, start: float, end: float) -> list[Word]:
    """Words for ``new_text``: unchanged words keep their times, changed ones are interpolated.

    Old and new words are aligned (difflib on case-folded words without punctuation). A
    replaced run takes the time span of the words it replaces, split evenly; inserted words
    share the gap between their neighbours. Everything is clamped to [start, end] and kept
    monotonic.
    """
    surfaces = new_text.split()
    new = [(" " if i else "") + w for i, w in enumerate(surfaces)]
    times: list[tuple[float, float, float] | None] = [None] * len(new)
    matcher = SequenceMatcher(a=[_key(w.word) for w in old], b=[_key(w) for w in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                w = old[i1 + k]
                times[j1 + k] = (w.start, w.end, w.prob)
        elif tag == "replace":
            a, b = old[i1].start, old[i2 - 1].end
            step = (b - a) / (j2 - j1)
            for k in range(j2 - j1):
                times[j1 + k] = (a + k * step, a + (k + 1) * step, 0.0)
    # Inserted words: spread over the gap between the known neighbours.
    i = 0
    while i < len(new):
        if times[i] is not None:
            i += 1
            continue
        j = i
        while j < len(new) and times[j] is None:
            j += 1
        lo = times[i - 1][1] if i > 0 else start
        hi = times[j][0] if j < len(new) else end
        hi = max(hi, lo)
        step = (hi - lo) / (j - i)
        for k in range(i, j):
            times[k] = (lo + (k - i) * step, lo + (k - i + 1) * step, 0.0)
        i = j
    out: list[Word] = []
    cursor = start
    for word, (a, b, p) in zip(new, times, strict=True):
        a = min(max(a, cursor, start), end)
        b = min(max(b, a), end)
        out.append(Word(word, round(a, 3), round(b, 3), p))
        cursor = a
    return out


# --- snapshots and revisions ----------------------------------------------------------------
def snapshot(row: TranscriptSegment) -> dict[str, Any]:
    return {"id": row.id, "start": row.start, "end": row.end, "text": row.text, "words": list(row.words or []),
            "speaker_id": row.speaker_id, "language": row.language, "language_prob": row.language_prob,
            "unreliable": row.unreliable, "source": row.source, "version": row.version,
            "needs_transcription": row.needs_transcription}


def segment_json(s: Session, row: TranscriptSegment) -> dict[str, Any]:
    data = snapshot(row)
    data["speaker"] = s.scalar(select(Person.name).where(Person.id == row.speaker_id)) if row.speaker_id else None
    return data


def _revision(s: Session, sitting_id: int, segment_id: int, action: str, before: list[dict], after: list[dict],
              editor_id: int | None) -> Revision:
    rev = Revision(sitting_id=sitting_id, segment_id=segment_id, action=action, before={"segments": before},
                   after={"segments": after}, editor_id=editor_id)
    s.add(rev)
    return rev


def _load(s: Session, segment_id: int, version: Any) -> TranscriptSegment:
    row = s.get(TranscriptSegment, segment_id)
    if row is None:
        raise NotFound(f"no segment {segment_id}")
    sitting = s.get(Sitting, row.sitting_id)
    if row.source == SegmentSource.LIVE or sitting.status not in EDITABLE_STATUSES:
        raise EditError("the live draft is read-only; edit after the final pass")
    if not is_id(version):
        raise EditError("'version' (an integer) is required: the version of the segment you edited")
    if row.version != version:
        raise Conflict(f"segment {segment_id} was changed by someone else (now version {row.version})",
                       segment_json(s, row))
    return row


def _bump(s: Session, row: TranscriptSegment, expected: int, values: dict[str, Any]) -> None:
    """Conditional update: only if the version is still ``expected`` (concurrent saves lose)."""
    values = {**values, "version": expected + 1, "source": SegmentSource.CLERK, "updated_at": utcnow()}
    done = s.execute(update(TranscriptSegment).where(TranscriptSegment.id == row.id,
                                                     TranscriptSegment.version == expected).values(**values)
                     .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        s.rollback()
        raise Conflict(f"segment {row.id} was changed by someone else", None)
    s.refresh(row)


def _text_language(s: Session, row: TranscriptSegment, text: str) -> dict[str, Any]:
    """A clerk's text decides the segment's language (among its committee's) and ends its wait in the
    Kyrgyz queue."""
    sitting = s.get(Sitting, row.sitting_id)
    language = label(text, committee_languages(sitting.committee), row.language) if text.strip() else row.language
    return {"language": language, "needs_transcription": not text.strip()}


def _neighbours(s: Session, row: TranscriptSegment) -> tuple[TranscriptSegment | None, TranscriptSegment | None]:
    base = select(TranscriptSegment).where(TranscriptSegment.sitting_id == row.sitting_id,
                                           TranscriptSegment.id != row.id)
    prev = s.scalar(base.where(TranscriptSegment.start <= row.start).order_by(TranscriptSegment.start.desc(),
                                                                            TranscriptSegment.id.desc()).limit(1))
    nxt = s.scalar(base.where(TranscriptSegment.start >= row.start).order_by(TranscriptSegment.start,
                                                                           TranscriptSegment.id).limit(1))
    return prev, nxt


def _number(value: Any, name: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not 0 <= value <= MAX_MEDIA_SECONDS):
        raise EditError(f"'{name}' must be a number of seconds from 0 to {MAX_MEDIA_SECONDS:.0f}")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EditError("'text' must not be empty")
    if len(value) > MAX_TEXT:
        raise EditError(f"'text' is too long (at most {MAX_TEXT} characters)")
    try:
        checked_text(value, "text")
    except InvalidText as exc:
        raise EditError(str(exc)) from None
    return " ".join(value.split())


def edit_segment(s: Session, segment_id: int, changes: dict[str, Any], editor_id: int | None) -> TranscriptSegment:
    """Apply ``changes`` (text, start, end, speaker, with the edited ``version``); returns the row."""
    unknown = set(changes) - {"text", "start", "end", "speaker", "version"}
    if unknown:
        raise EditError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if not set(changes) - {"version"}:
        raise EditError("nothing to change: send text, start, end or speaker")
    row = _load(s, segment_id, changes.get("version"))
    before = snapshot(row)
    text = _text(changes["text"]) if "text" in changes else row.text
    start = _number(changes["start"], "start") if "start" in changes else row.start
    end = _number(changes["end"], "end") if "end" in changes else row.end
    if end <= start:
        raise EditError("'end' must be after 'start'")
    prev, nxt = _neighbours(s, row)
    if prev is not None and start < prev.end - 1e-3:
        raise EditError(f"overlaps the previous segment, which ends at {prev.end:.3f}")
    if nxt is not None and end > nxt.start + 1e-3:
        raise EditError(f"overlaps the next segment, which starts at {nxt.start:.3f}")
    speaker_id = row.speaker_id
    if "speaker" in changes:
        speaker_id = changes["speaker"]
        if speaker_id is not None and (not is_id(speaker_id) or s.get(Person, speaker_id) is None):
            raise EditError(f"unknown speaker {changes['speaker']!r}: add the person first")
    old_words = [Word(**w) for w in row.words or []]
    words = realign_words(old_words, text, start, end) if (text != row.text or start != row.start
                                                            or end != row.end) else old_words
    # A clerk who saves a line has read it against the recording: its language is no longer in doubt.
    # Attributing a speaker only (one key, a whole cluster) says nothing about the text.
    only_speaker = set(changes) - {"version"} == {"speaker"}
    values: dict[str, Any] = {"text": text, "start": start, "end": end, "speaker_id": speaker_id,
                              "words": [w.__dict__ for w in words],
                              "unreliable": row.unreliable if only_speaker else False}
    if text != row.text or row.needs_transcription:
        values.update(_text_language(s, row, text))
    _bump(s, row, row.version, values)
    _revision(s, row.sitting_id, row.id, "speaker" if only_speaker else "edit", [before], [snapshot(row)], editor_id)
    return row


def split_segment(s: Session, segment_id: int, version: Any, offset: Any, editor_id: int | None):
    """Split at a character offset of the text; the words decide the split time."""
    row = _load(s, segment_id, version)
    if not is_id(offset) or not 0 < offset < len(row.text):
        raise EditError(f"'offset' must be a character position inside the text (1 to {len(row.text) - 1})")
    first_text, second_text = row.text[:offset].strip(), row.text[offset:].strip()
    if not first_text or not second_text:
        raise EditError("split must leave text on both sides")
    before = snapshot(row)
    words = [Word(**w) for w in row.words or []]
    n_first = len(first_text.split())
    first_words, second_words = words[:n_first], words[n_first:]
    at = second_words[0].start if second_words else row.start + (row.end - row.start) * offset / len(row.text)
    at = min(max(at, row.start + 0.001), row.end - 0.001)
    second = TranscriptSegment(sitting_id=row.sitting_id, start=at, end=row.end, text=second_text,
                               words=[w.__dict__ for w in realign_words(second_words, second_text, at, row.end)],
                               speaker_id=row.speaker_id, language=row.language, language_prob=row.language_prob,
                               unreliable=row.unreliable, source=SegmentSource.CLERK)
    _bump(s, row, row.version, {"text": first_text, "end": at,
                                "words": [w.__dict__ for w in realign_words(first_words, first_text, row.start, at)]})
    s.add(second)
    s.flush()
    _revision(s, row.sitting_id, row.id, "split", [before], [snapshot(row), snapshot(second)], editor_id)
    return row, second


def merge_segments(s: Session, segment_id: int, version: Any, next_version: Any, editor_id: int | None):
    """Merge a segment with the one after it."""
    row = _load(s, segment_id, version)
    _, nxt = _neighbours(s, row)
    if nxt is None:
        raise EditError("this is the last segment: there is nothing to merge it with")
    _load(s, nxt.id, next_version)
    before = [snapshot(row), snapshot(nxt)]
    words = list(row.words or []) + [dict(w, word=" " + w["word"].lstrip()) for w in nxt.words or []]
    if words and not row.words:
        words[0] = dict(words[0], word=words[0]["word"].lstrip())
    text = f"{row.text} {nxt.text}".strip()
    _bump(s, row, row.version, {"text": text, "end": max(row.end, nxt.end), "words": words,
                                **_text_language(s, row, text)})
    s.delete(nxt)
    s.flush()
    _revision(s, row.sitting_id, row.id, "merge", before, [snapshot(row)], editor_id)
    return row


def revert(s: Session, revision_id: int, editor_id: int | None) -> TranscriptSegment:
    """Restore the segments as they were before a revision, if nothing changed them since."""
    rev = s.get(Revision, revision_id)
    if rev is None:
        raise NotFound(f"no revision {revision_id}")
    if rev.after is not None and "agenda" in rev.after:
        raise EditError(f"revision {revision_id} changed the agenda: edit the agenda to undo it")
    after = {d["id"]: d for d in rev.after["segments"]}
    before = {d["id"]: d for d in rev.before["segments"]}
    current = {}
    for seg_id, state in after.items():
        row = s.get(TranscriptSegment, seg_id)
        if row is None or row.version != state["version"]:
            raise Conflict(f"segment {seg_id} changed after revision {revision_id}; revert the later change first",
                           segment_json(s, row) if row else None)
        current[seg_id] = row
    now_state = [snapshot(r) for r in current.values()]
    for seg_id, row in current.items():
        if seg_id not in before:
            s.delete(row)
    s.flush()
    restored: list[TranscriptSegment] = []
    for seg_id, state in before.items():
        values = {k: state[k] for k in ("start", "end", "text", "words", "speaker_id", "language", "language_prob",
                                        "unreliable")}
        values["needs_transcription"] = bool(state.get("needs_transcription", False))
        row = current.get(seg_id)
        if row is not None:
            _bump(s, row, row.version, values)
        else:
            row = TranscriptSegment(id=seg_id, sitting_id=rev.sitting_id, source=SegmentSource.CLERK,
                                    version=state["version"] + 1, **values)
            s.add(row)
            s.flush()
        restored.append(row)
    _revision(s, rev.sitting_id, rev.segment_id or restored[0].id, "revert", now_state,
              [snapshot(r) for r in restored], editor_id)
    return next(r for r in restored if r.id == (rev.segment_id or restored[0].id))


def revision_json(s: Session, rev: Revision) -> dict[str, Any]:
    editor = s.scalar(select(User.username).where(User.id == rev.editor_id)) if rev.editor_id else None
    return {"id": rev.id, "segment": rev.segment_id, "action": rev.action, "before": rev.before, "after": rev.after,
            "editor": editor, "at": clock.local_iso(rev.at)}


def publish(s: Session, sitting_id: int, editor_id: int | None) -> Publication:
    """Freeze the working copy as the next numbered official version."""
    sitting = s.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(f"no sitting {sitting_id}")
    if not can_become(sitting.status, SittingStatus.PUBLISHED):
        raise EditError(f"sitting {sitting_id} is {sitting.status}; publish after the final pass")
    # Proposals are working data: a publication freezes confirmed speakers only.
    segments = [{**seg.to_dict(), "speaker_proposal": None} for seg in working_segments(s, sitting_id)]
    if not segments:
        raise EditError("there is no transcript to publish")
    latest = s.scalar(select(Publication).where(Publication.sitting_id == sitting_id)
                      .order_by(Publication.number.desc()).limit(1))
    if latest is not None and latest.segments == segments:
        return latest  # nothing changed since: a citation stays one version, not a chain of copies
    number = (latest.number if latest else 0) + 1
    pub = Publication(sitting_id=sitting_id, number=number, editor_id=editor_id, segments=segments)
    s.add(pub)
    transition(sitting, SittingStatus.PUBLISHED)
    audit(s, editor_id, "sitting.publish", {"sitting": sitting_id, "number": number})
    s.flush()
    return pub


@dataclass(frozen=True)
class Change:
    """One line that differs between the latest publication and the working copy."""

    kind: str  # "added" | "removed" | "changed"
    before: Segment | None
    after: Segment | None


def changes_since_publication(s: Session, sitting_id: int) -> tuple[Publication | None, list[Change]]:
    """What a publication now would change: lines added, removed or changed (text, times or
    speaker) since the latest publication (every line, as added, before the first one)."""
    pub = latest_publication(s, sitting_id)
    old = {d["id"]: Segment.from_dict(d) for d in (pub.segments if pub else [])}
    new = working_segments(s, sitting_id)
    changes = []
    for seg in new:
        before = old.pop(seg.id, None)
        if before is None:
            changes.append(Change("added", None, seg))
        elif (before.text, before.speaker_id, round(before.start, 2), round(before.end, 2)) != (
                seg.text, seg.speaker_id, round(seg.start, 2), round(seg.end, 2)):
            changes.append(Change("changed", before, seg))
    changes.extend(Change("removed", seg, None) for seg in old.values())
    changes.sort(key=lambda c: (c.after or c.before).start)
    return pub, changes


def mark_reviewed(s: Session, sitting_id: int, editor_id: int | None) -> None:
    sitting = s.get(Sitting, sitting_id)
    if sitting is None:
        raise NotFound(f"no sitting {sitting_id}")
    if not can_become(sitting.status, SittingStatus.REVIEWED):
        raise EditError(f"sitting {sitting_id} is {sitting.status}; only a transcribed sitting can be reviewed")
    transition(sitting, SittingStatus.REVIEWED)
    audit(s, editor_id, "sitting.review", {"sitting": sitting_id})
