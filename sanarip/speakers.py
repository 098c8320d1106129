"""Speakers: voice profiles, identification against them, and proposals from the chair.

A proposal is a guess for a clerk to accept — ``{"person_id", "name", "score", "source"}`` with
``source`` ``voice`` (a turn's voice matched a profile above :data:`VOICE_THRESHOLD`) or
``chair`` (the chair gave the floor to a named person just before the turn). Nothing here ever
sets a segment's confirmed ``speaker_id``.

Voice profiles are biometric data: only the embeddings (256 numbers per sample) are stored,
never the audio, and ``forget_voice`` deletes every one of a person's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sanarip import livestate
from sanarip.errors import NotFound
from sanarip.models import Person, SegmentSource, Sitting, TranscriptSegment, VoiceProfile
from sanarip.stenogram import Segment
from sanarip.transcripts import replace_automatic, working_segments

# Cosine similarity of a turn to a person's profile above which the person is proposed. Calibrated
# by ``bench/speakers.py --calibrate`` on the held-out utterances of the shared speakers, never on
# ``sitting_shared``, on which the figures are reported: each utterance scored against the best
# *other* speaker's profile (as if its speaker were never enrolled; the guest against everyone),
# the threshold is the lowest at which the speech time so proposed stays within the issue's
# budget for wrong proposals, :data:`WRONG_BUDGET` (3%). The earlier 1% rule came down to "no
# held-out utterance at all" (one of 37 is 2.7%) and left a genuine speaker heard through another
# microphone below it. A margin over the second-best profile, centring on the profiles' mean
# (left-one-out) and denser or trimmed enrolment windows were tried and separated no better.
WRONG_BUDGET = 0.03
VOICE_THRESHOLD = 0.72
CONFIRMED_CAP = 20  # confirmed-segment embeddings kept per person, most recent first
MIN_CONFIRMED_SECONDS = 3.0


@dataclass
class Profile:
    person_id: int
    name: str
    centroid: np.ndarray


def _normed(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def require_person(s: Session, person_id: int) -> Person:
    person = s.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def add_profile(s: Session, person_id: int, embedding: Sequence[float], seconds: float, source: str = "enroll",
                segment_id: int | None = None) -> VoiceProfile:
    if s.get(Person, person_id) is None:
        raise NotFound(f"no person {person_id}")
    if segment_id is not None:
        same = s.scalar(select(VoiceProfile).where(VoiceProfile.person_id == person_id,
                                                   VoiceProfile.segment_id == segment_id))
        if same is not None:
            return same  # a segment counts once
    vec = np.asarray(embedding, dtype=float)
    if vec.shape != (256,) or not np.isfinite(vec).all():
        raise ValueError("a voice embedding is 256 finite numbers")
    row = VoiceProfile(person_id=person_id, embedding=[round(float(x), 6) for x in vec], source=source,
                       seconds=round(float(seconds), 3), segment_id=segment_id)
    s.add(row)
    s.flush()
    if source == "confirmed":
        _cap_confirmed(s, person_id)
    return row


def _cap_confirmed(s: Session, person_id: int) -> None:
    ids = s.scalars(select(VoiceProfile.id).where(VoiceProfile.person_id == person_id,
                                                  VoiceProfile.source == "confirmed")
                    .order_by(VoiceProfile.created_at.desc(), VoiceProfile.id.desc())).all()
    if len(ids) > CONFIRMED_CAP:
        s.execute(delete(VoiceProfile).where(VoiceProfile.id.in_(ids[CONFIRMED_CAP:])))


def forget_voice(s: Session, person_id: int) -> int:
    """Delete every voice embedding of a person; returns how many."""
    if s.get(Person, person_id) is None:
        raise NotFound(f"no person {person_id}")
    result = s.execute(delete(VoiceProfile).where(VoiceProfile.person_id == person_id))
    return int(result.rowcount or 0)


def profile_count(s: Session, person_id: int) -> int:
    return len(s.scalars(select(VoiceProfile.id).where(VoiceProfile.person_id == person_id)).all())


def load_profiles(s: Session) -> list[Profile]:
    """One centroid per person with a voice profile (the mean of their embeddings)."""
    rows = s.execute(select(VoiceProfile.person_id, Person.name, VoiceProfile.embedding)
                     .join(Person, Person.id == VoiceProfile.person_id).order_by(VoiceProfile.person_id)).all()
    by_person: dict[int, tuple[str, list[list[float]]]] = {}
    for pid, name, emb in rows:
        by_person.setdefault(pid, (name, []))[1].append(emb)
    return [Profile(pid, name, _normed(np.mean(np.asarray(embs, dtype=float), axis=0)))
            for pid, (name, embs) in by_person.items()]


def identify(embedding: np.ndarray | None, profiles: Sequence[Profile],
             threshold: float = VOICE_THRESHOLD) -> dict[str, Any] | None:
    """The best-matching profile's proposal when its similarity reaches ``threshold``, else None."""
    if embedding is None or not profiles:
        return None
    sims = np.stack([p.centroid for p in profiles]) @ _normed(np.asarray(embedding, dtype=float))
    k = int(sims.argmax())
    if sims[k] < threshold:
        return None
    return {"person_id": profiles[k].person_id, "name": profiles[k].name,
            "score": round(float(np.clip(sims[k], 0.0, 1.0)), 3), "source": "voice"}


# --- the chair's words ---------------------------------------------------------------------

_FLOOR = re.compile(
    r"(?:слово\s+(?:предоставляется|предоставляю|имеет|для\s+\w+\s+предоставляется)"
    r"|предоставляю\s+слово|передаю\s+слово|пожалуйста,?\s+слово"
    r"|i\s+(?:now\s+)?give\s+the\s+floor\s+to|the\s+floor\s+(?:is\s+given\s+to|goes\s+to)"
    r"|i\s+(?:now\s+)?call\s+(?:up)?on|i\s+invite)",
    re.IGNORECASE)
# Kyrgyz puts the name between «сөз» and the verb: «Сөз депутат Жээнбековго берилет».
_KY_FLOOR = re.compile(r"\bсөз(?:дү)?\s+(.{1,80}?)\s*\b(?:берилет|беремин|берейин|берем)\b", re.IGNORECASE)
# Words between the cue and the name: titles and ranks, never names.
_TITLES = {
    "депутату", "депутат", "депутата", "депутатке", "депутатка", "министру", "министр", "заместителю",
    "председателю", "коллеге", "уважаемому", "уважаемой", "господину", "госпоже", "товарищу", "министра",
    "для", "выступления", "доклада", "содоклада", "вопроса", "слово",
    "депутатына", "депутаты", "урматтуу", "министрине", "министри", "мырза", "айым", "агай", "эже",
    "to", "the", "honourable", "honorable", "deputy", "member", "minister", "mr", "mrs", "ms", "dr", "colleague",
    "our", "distinguished", "mister", "madam",
}
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*\.?", re.UNICODE)
_KY_BACK, _KY_FRONT = set("аоуыя"), set("еиөүэ")


def _fold(word: str) -> str:
    return word.casefold().replace("ё", "е").strip(".")


def _russian_forms(w: str) -> set[str]:
    """Oblique cases of a Russian (or Russified Kyrgyz) name: surnames in -ов/-ев/-ин (masculine,
    and their feminine -ова/-ева/-ина), -ский/-ская, and given names by their last letter. The
    feminine accusative in -у is left out so a dative «Иванову» is never «Иванова»."""
    if w.endswith(("ова", "ева", "ина", "ына")):
        return {w[:-1] + "ой"}
    if w.endswith(("ов", "ев", "ин", "ын")):
        return {w + e for e in ("а", "у", "ым", "е")}
    if w.endswith("ский"):
        return {w[:-2] + e for e in ("ого", "ому", "им", "ом")}
    if w.endswith("ская"):
        return {w[:-2] + e for e in ("ой", "ую")}
    if w.endswith("ия"):
        return {w[:-1] + e for e in ("и", "ю", "ей")}
    if w.endswith(("а", "я")):
        return {w[:-1] + e for e in ("ы", "и", "е", "у", "ю", "ой", "ей")}
    if w.endswith("ь"):
        return {w[:-1] + e for e in ("я", "ю", "ем", "е")}
    if w.endswith("й"):
        return {w[:-1] + e for e in ("я", "ю", "ем", "е")}
    if w[-1:].isalpha() and w[-1] not in "аеёиоуыэюя":
        return {w + e for e in ("а", "у", "ом", "ым", "е")}
    return set()


def _kyrgyz_forms(w: str) -> set[str]:
    """Dative, genitive and accusative of a name with Kyrgyz vowel harmony (and voicing after a
    voiceless consonant): Жээнбеков → Жээнбековго, Жээнбековдун, Жээнбековду; Токтогулова → -га."""
    vowels = [c for c in w if c in _KY_BACK | _KY_FRONT]
    last = vowels[-1] if vowels else "а"
    rounded, front = last in "оөуү", last in _KY_FRONT
    v_wide = ("ө" if front else "о") if rounded else ("е" if front else "а")
    v_high = ("ү" if front else "у") if rounded else ("и" if front else "ы")
    end = w[-1:]
    if end in _KY_BACK | _KY_FRONT:
        dat, gen, acc = "г" + v_wide, "н" + v_high + "н", "н" + v_high
    elif end in "пткфсшчхщц":
        dat, gen, acc = "к" + v_wide, "т" + v_high + "н", "т" + v_high
    else:
        dat, gen, acc = "г" + v_wide, "д" + v_high + "н", "д" + v_high
    return {w + dat, w + gen, w + acc}


def _forms(part: str) -> set[str]:
    w = _fold(part)
    if not re.search(r"[а-яөүң]", w):
        return {w}
    return {w} | _russian_forms(w) | _kyrgyz_forms(w)


def _name_parts(name: str) -> list[str]:
    return [_fold(p) for p in _WORD.findall(name) if _fold(p)]


def _is_initial(word: str) -> bool:
    return len(_fold(word)) == 1 or (word.endswith(".") and len(_fold(word)) <= 2)


def named_after_cue(text: str) -> list[str] | None:
    """The words following a floor-giving cue (titles skipped), or None when there is no cue."""
    kyrgyz = list(_KY_FLOOR.finditer(text))
    cues = list(_FLOOR.finditer(text))
    if kyrgyz:
        words = _WORD.findall(kyrgyz[-1].group(1))[:6]
    elif cues:
        words = _WORD.findall(text[cues[-1].end():])[:6]
    else:
        return None
    while words and _fold(words[0]) in _TITLES:
        words.pop(0)
    return words[:3]


def chair_match(text: str, persons: Iterable[tuple[int, str]]) -> tuple[int, str] | None:
    """The one person the chair gives the floor to in ``text``: a name part in any case form;
    initials, when spoken, must be those of the person's other name parts. None when there is
    no cue, no name, or the name fits no person or several."""
    words = named_after_cue(text)
    if not words:
        return None
    initials = [_fold(w)[0] for w in words if _is_initial(w)]
    spoken = [_fold(w) for w in words if not _is_initial(w) and len(_fold(w)) >= 3]
    found = []
    for pid, name in persons:
        parts = _name_parts(name)
        hits = [p for p in parts if len(p) >= 3 and any(w in _forms(p) for w in spoken[:2])]
        if not hits:
            continue
        rest = [p for p in parts if p not in hits]
        if initials and not all(any(p.startswith(c) for p in rest) for c in initials):
            continue
        found.append((pid, name))
    return found[0] if len(found) == 1 else None


def propose(segments: list[Segment], label_embeddings: dict[str, np.ndarray], profiles: Sequence[Profile],
            persons: Sequence[tuple[int, str]], threshold: float = VOICE_THRESHOLD) -> None:
    """Set each segment's ``speaker_proposal`` in place: the voice match of its label's
    embedding (the cluster's mean: more speech than one turn), else the person the chair named
    just before the turn began."""
    previous_label: str | None = None
    chair_pick: tuple[int, str] | None = None
    pending: tuple[int, str] | None = None
    voice = {label: identify(emb, profiles, threshold) for label, emb in label_embeddings.items()}
    for seg in segments:
        if seg.speaker_label != previous_label:
            chair_pick, pending = pending, None
            previous_label = seg.speaker_label
        proposal = voice.get(seg.speaker_label or "")
        if proposal is None and chair_pick is not None:
            proposal = {"person_id": chair_pick[0], "name": chair_pick[1], "score": 1.0, "source": "chair"}
        seg.speaker_proposal = proposal
        named = chair_match(seg.text, persons)
        if named is not None:
            pending = named


def persons(s: Session) -> list[tuple[int, str]]:
    return [(pid, name) for pid, name in s.execute(select(Person.id, Person.name).order_by(Person.id)).all()]


def store_speakers(s: Session, sitting_id: int, automatic: list[Segment], clerk: list[Segment]) -> None:
    """Write a diarization result: the automatic rows replaced by ``automatic`` (segments may
    have been split at a speaker change), the clerk-edited rows given their label and proposal
    in place (never split, never re-attributed)."""
    replace_automatic(s, sitting_id, automatic)
    for seg in clerk:
        row = s.get(TranscriptSegment, seg.id)
        if row is not None and row.sitting_id == sitting_id:
            row.speaker_label, row.speaker_proposal = seg.speaker_label, seg.speaker_proposal


def split_by_source(s: Session, sitting_id: int) -> tuple[list[Segment], list[Segment]]:
    """The working segments as (automatic, clerk-edited)."""
    clerk_ids = set(s.scalars(select(TranscriptSegment.id).where(TranscriptSegment.sitting_id == sitting_id,
                                                                 TranscriptSegment.source == SegmentSource.CLERK)))
    segs = working_segments(s, sitting_id)
    return [x for x in segs if x.id not in clerk_ids], [x for x in segs if x.id in clerk_ids]


# --- the clerk's speaker actions (each one a revision per changed segment, via edit_segment) ---


def _attribute(s: Session, rows: Iterable[TranscriptSegment], person_id: int, editor_id: int | None) -> list[int]:
    from sanarip.editing import edit_segment

    require_person(s, person_id)
    changed = []
    for row in rows:
        if row.speaker_id != person_id:
            edit_segment(s, row.id, {"speaker": person_id, "version": row.version}, editor_id)
            changed.append(row.id)
    return changed


def _sitting_rows(s: Session, sitting_id: int) -> list[TranscriptSegment]:
    if s.get(Sitting, sitting_id) is None:
        raise NotFound(f"there is no sitting number {sitting_id}")
    return list(s.scalars(select(TranscriptSegment).where(TranscriptSegment.sitting_id == sitting_id)
                          .order_by(TranscriptSegment.start, TranscriptSegment.id)))


def accept_proposals(s: Session, sitting_id: int, min_score: float, editor_id: int | None,
                     segment_ids: Sequence[int] | None = None) -> tuple[list[int], set[int]]:
    """Confirm the proposed speaker of every unattributed segment whose proposal scores at least
    ``min_score`` (or of the given segments); returns the ids changed and the persons confirmed."""
    wanted = set(segment_ids) if segment_ids is not None else None
    changed: list[int] = []
    people: set[int] = set()
    for row in _sitting_rows(s, sitting_id):
        p = row.speaker_proposal
        if not p or (wanted is not None and row.id not in wanted):
            continue
        if wanted is None and (row.speaker_id is not None or float(p.get("score", 0)) < min_score):
            continue
        if s.get(Person, p["person_id"]) is not None:
            done = _attribute(s, [row], int(p["person_id"]), editor_id)
            changed += done
            if done:
                people.add(int(p["person_id"]))
    return changed, people


def assign_speaker(s: Session, sitting_id: int, segment_ids: Sequence[int], person_id: int,
                   editor_id: int | None) -> list[int]:
    """One speaker for a selected run of segments (or a whole turn)."""
    rows = [r for r in _sitting_rows(s, sitting_id) if r.id in set(segment_ids)]
    if len(rows) != len(set(segment_ids)):
        raise NotFound(f"sitting {sitting_id} has no segment(s) {sorted(set(segment_ids) - {r.id for r in rows})}")
    return _attribute(s, rows, person_id, editor_id)


def relabel(s: Session, sitting_id: int, label: str, person_id: int, editor_id: int | None) -> list[int]:
    """"S3 is Ivanova": every segment of the voice cluster ``label`` is attributed to the person."""
    rows = [r for r in _sitting_rows(s, sitting_id) if r.speaker_label == label]
    if not rows:
        raise NotFound(f"sitting {sitting_id} has no speaker label {label!r}")
    return _attribute(s, rows, person_id, editor_id)


# --- the live draft's proposals, for the live-state file -------------------------------------

LIVE_PROPOSALS = 20  # the newest live lines with a proposal that the live-state file carries


def live_proposals(s: Session, sitting_id: int) -> list[dict[str, Any]]:
    """The ``speaker_proposals`` slot of the live-state file: for the newest live lines whose
    voice matched a profile, ``{"segment", "start", "end", "person_id", "name", "score",
    "source", "automatic": true}``, oldest first (``segment`` is the line's subtitle cue id)."""
    rows = s.execute(select(TranscriptSegment.id, TranscriptSegment.start, TranscriptSegment.end,
                            TranscriptSegment.speaker_proposal)
                     .where(TranscriptSegment.sitting_id == sitting_id, TranscriptSegment.source == SegmentSource.LIVE)
                     .order_by(TranscriptSegment.start.desc(), TranscriptSegment.id.desc())
                     .limit(10 * LIVE_PROPOSALS)).all()
    out = [{"segment": sid, "start": round(float(a), 3), "end": round(float(b), 3),
            "person_id": p["person_id"], "name": p["name"], "score": p["score"], "source": p.get("source", "voice"),
            "automatic": True}
           for sid, a, b, p in rows if isinstance(p, dict) and p.get("person_id") is not None]
    return out[:LIVE_PROPOSALS][::-1]


livestate.register_slot("speaker_proposals", live_proposals)
