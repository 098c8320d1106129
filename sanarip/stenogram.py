"""The stenogram model and its exports: WebVTT, SRT, JSON, plain text, Akoma Ntoso and RTTM.

Pure Python: no model, no database. Times are media seconds on the sitting's timeline.

JSON schema (``to_json``)::

    {"format": "sanarip-stenogram/1", "sitting": {"id", "title", "committee", "date",
     "status": "automatic" | "official", "publication": int | null, "published_at": str | null},
     "segments": [{"id", "start", "end", "speaker": str | null, "speaker_id": int | null,
                   "language": str | null, "unreliable": bool, "needs_transcription": bool, "text",
                   "speaker_label": str | null, "speaker_proposal": {"person_id", "name", "score",
                   "source": "voice" | "chair"} | null,
                   "words": [{"word", "start", "end", "prob"}]}]}
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sanarip.texthygiene import xml_text


@dataclass
class Word:
    word: str
    start: float
    end: float
    prob: float = 1.0


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    id: int | None = None
    speaker: str | None = None
    speaker_id: int | None = None
    language: str | None = None
    language_prob: float | None = None
    unreliable: bool = False
    needs_transcription: bool = False  # heard as Kyrgyz, no Kyrgyz model: empty text until a clerk types it
    speaker_label: str | None = None  # the sitting's voice cluster, "S1", "S2", … (diarization)
    speaker_proposal: dict[str, Any] | None = None  # {"person_id", "name", "score", "source"}: working data

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        words = [Word(**{k: w[k] for k in ("word", "start", "end", "prob") if k in w}) for w in d.get("words") or []]
        known = {k: d.get(k) for k in ("id", "speaker", "speaker_id", "language", "language_prob",
                                       "speaker_label", "speaker_proposal")}
        return cls(start=float(d["start"]), end=float(d["end"]), text=d["text"], words=words,
                   unreliable=bool(d.get("unreliable", False)),
                   needs_transcription=bool(d.get("needs_transcription", False)), **known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Turn:
    """Consecutive segments of one speaker."""

    speaker: str | None
    speaker_id: int | None
    segments: list[Segment]

    @property
    def start(self) -> float:
        return self.segments[0].start

    @property
    def end(self) -> float:
        return self.segments[-1].end

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


@dataclass
class Stenogram:
    segments: list[Segment]
    sitting_id: int | None = None
    title: str = ""
    committee: str = ""
    date: str | None = None  # ISO date of the sitting
    publication: int | None = None
    published_at: str | None = None
    agenda: list[AgendaEntry] = field(default_factory=list)
    votes: list[VoteEntry] = field(default_factory=list)
    # Media seconds → wall clock (sanarip.timeline); None: no clock, exports leave times out.
    wall_clock: Callable[[float], datetime | None] | None = None
    language: str | None = None  # the sitting's language (its committee's default): SRT's file language

    @property
    def main_language(self) -> str | None:
        """The language most of the written speech is in (seconds of its segments), else ``language``.

        SRT has no language attribute: this is the file's language (the download's filename and
        ``Content-Language``), and only segments in another language carry a ``[ky]``-style mark."""
        seconds: dict[str, float] = {}
        for seg in self.written:
            if seg.language and LANG_TAG.match(seg.language):
                seconds[seg.language] = seconds.get(seg.language, 0.0) + max(0.0, seg.end - seg.start)
        return max(seconds, key=lambda k: seconds[k]) if seconds else self.language

    @property
    def status(self) -> str:
        return "official" if self.publication else "automatic"

    @property
    def written(self) -> list[Segment]:
        """The segments with text: a passage still waiting for a Kyrgyz transcription is left out of the
        caption and document exports (JSON keeps it, flagged), never shown as if it were text."""
        return [seg for seg in self.segments if not seg.needs_transcription]

    def turns(self, written_only: bool = False) -> list[Turn]:
        out: list[Turn] = []
        for seg in self.written if written_only else self.segments:
            if out and out[-1].speaker_id == seg.speaker_id and out[-1].speaker == seg.speaker:
                out[-1].segments.append(seg)
            else:
                out.append(Turn(seg.speaker, seg.speaker_id, [seg]))
        return out


CLOCK_RE = re.compile(r"^(?:(?:(\d+):)?([0-5]?\d):)?(\d+(?:\.\d+)?)$")


def parse_clock(text: str) -> float:
    """Seconds from ``754.2``, ``1:05`` (m:ss) or ``1:02:03`` (h:mm:ss), as people write a moment.

    With a colon, the seconds must be below 60; raises ValueError otherwise."""
    match = CLOCK_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    hours, minutes, seconds = match.groups()
    if minutes is not None and float(seconds) >= 60:
        raise ValueError(text)
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def clock(seconds: float, sep: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``sep=","`` for SRT)."""
    ms = max(0, round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_text(text: str) -> str:
    # A cue may not contain a blank line or "-->"; WebVTT needs &, < and > escaped.
    text = re.sub(r"\s*\n\s*", " ", text.strip()).replace("-->", "->")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt_cue(seg: Segment, number: int) -> list[str]:
    """One WebVTT cue block (identifier, timing, text) and its blank line; the HLS subtitle
    rendition (``sanarip/subtitles.py``) writes the same cues as the download."""
    voice = f"<v {_cue_text(seg.speaker)}>" if seg.speaker else ""
    text = _cue_text(seg.text)
    if seg.language and LANG_TAG.match(seg.language):
        text = f"<lang {seg.language}>{text}</lang>"  # the cue's language, as WebVTT marks it
    return [str(seg.id or number), f"{clock(seg.start)} --> {clock(max(seg.end, seg.start + 0.001))}",
            voice + text, ""]


def to_webvtt(st: Stenogram) -> str:
    lines = ["WEBVTT", ""]
    for i, seg in enumerate(st.written, 1):
        lines += webvtt_cue(seg, i)
    return "\n".join(lines)


def to_srt(st: Stenogram) -> str:
    """SubRip: a segment in another language than the file's (``Stenogram.main_language``) starts
    with ``[ky]``, the bracketed note subtitlers use for speech in another language."""
    blocks = []
    main = st.main_language
    for i, seg in enumerate(st.written, 1):
        mark = f"[{seg.language}] " if seg.language and seg.language != main and LANG_TAG.match(seg.language) else ""
        who = mark + (f"{seg.speaker}: " if seg.speaker else "")
        text = re.sub(r"\s*\n\s*", " ", seg.text.strip()) or "…"
        blocks.append(f"{i}\n{clock(seg.start, ',')} --> {clock(max(seg.end, seg.start + 0.001), ',')}\n{who}{text}\n")
    return "\n".join(blocks)


def to_json(st: Stenogram) -> str:
    doc = {
        "format": "sanarip-stenogram/1",
        "sitting": {"id": st.sitting_id, "title": st.title, "committee": st.committee, "date": st.date,
                    "status": st.status, "publication": st.publication, "published_at": st.published_at},
        "segments": [seg.to_dict() for seg in st.segments],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)


def to_text(st: Stenogram) -> str:
    label = (f"Official stenogram, publication {st.publication} ({st.published_at})" if st.publication
             else "Automatic transcript, unverified")
    head = [st.title or f"Sitting {st.sitting_id}", label, ""]
    body = [f"[{clock(t.start)[:8]}] {t.speaker or 'Unknown speaker'}: {t.text}" for t in st.turns(True)]
    return "\n".join(head + body) + "\n"


LANG_TAG = re.compile(r"^[a-z]{2,3}$")
AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
# ISO 639-1 (what segments carry) to the ISO 639-2 codes Akoma Ntoso names languages with.
AKN_LANGUAGES = {"ru": "rus", "ky": "kir", "en": "eng", "kk": "kaz", "uz": "uzb", "tr": "tur"}


@dataclass
class AgendaEntry:
    """An agenda item for the exports: a ``debateSection`` of the Akoma Ntoso debate."""

    position: int
    identifier: str
    title: str
    start: float
    end: float | None = None


@dataclass
class VoteEntry:
    """A vote event for the exports: its moment, result and counts per option."""

    identifier: str
    label: str
    media_time: float
    start_date: str  # ISO wall clock with offset
    result: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def expression_language(st: Stenogram) -> str:
    """The ISO 639-2 code of the stenogram's language, ``mul`` when it switches between several."""
    found = {seg.language for seg in st.segments if seg.language}
    if len(found) == 1:
        return AKN_LANGUAGES.get(found.pop(), "mul")
    return "mul"


def _concept(value: str) -> str:
    return re.sub(r"[^\w-]+", "-", value.casefold(), flags=re.UNICODE).strip("-") or "none"


def to_akoma_ntoso(st: Stenogram) -> str:
    """An Akoma Ntoso 3.0 ``debate`` valid against the strict OASIS schema: one named ``debateSection``
    per agenda item (one for the whole sitting without an agenda), one ``speech`` per speaker turn
    with its speaker as a TLCPerson and wall-clock ``startTime``/``endTime``, and each vote event as
    a ``narrative`` in the body whose result and counts are a ``voting`` in the analysis."""
    ET.register_namespace("", AKN_NS)
    q = f"{{{AKN_NS}}}"
    root = ET.Element(q + "akomaNtoso")
    debate = ET.SubElement(root, q + "debate", name="committeeSitting")
    meta = ET.SubElement(debate, q + "meta")
    ident = ET.SubElement(meta, q + "identification", source="#sanarip")
    work_uri = xml_text(f"/akn/kg/debate/{st.date or 'undated'}/{st.committee or 'committee'}-{st.sitting_id or 0}")
    language = expression_language(st)
    for level, suffix in (("FRBRWork", ""), ("FRBRExpression", f"/{language}"),
                          ("FRBRManifestation", f"/{language}.xml")):
        el = ET.SubElement(ident, q + level)
        ET.SubElement(el, q + "FRBRthis", value=work_uri + suffix + "/main")
        ET.SubElement(el, q + "FRBRuri", value=work_uri + suffix)
        ET.SubElement(el, q + "FRBRdate", date=st.date or "1970-01-01", name="sitting")
        ET.SubElement(el, q + "FRBRauthor", href="#sanarip")
        if level == "FRBRWork":
            ET.SubElement(el, q + "FRBRcountry", value="kg")
        if level == "FRBRExpression":
            ET.SubElement(el, q + "FRBRlanguage", language=language)
    concepts: dict[str, str] = {}
    if st.votes:
        analysis = ET.SubElement(meta, q + "analysis", source="#sanarip")
        parliamentary = ET.SubElement(analysis, q + "parliamentary")
        for n, vote in enumerate(st.votes, 1):
            attrs = {"eId": f"voting_{n}", "href": f"#vote_{n}"}
            if vote.result:
                key = "result-" + _concept(vote.result)
                concepts.setdefault(key, vote.result)
                attrs["outcome"] = "#" + key
            voting = ET.SubElement(parliamentary, q + "voting", **attrs)
            for option, value in vote.counts.items():
                ref = "option-" + _concept(option)
                concepts.setdefault(ref, option)
                ET.SubElement(voting, q + "count", eId=f"voting_{n}__count_{_concept(option)}", value=str(value),
                              refersTo="#" + ref)
            if not vote.counts:
                ET.SubElement(voting, q + "count", eId=f"voting_{n}__count_total", value="0")
    refs = ET.SubElement(meta, q + "references", source="#sanarip")
    ET.SubElement(refs, q + "TLCOrganization", eId="sanarip", href="/sanarip", showAs="Sanarip")
    people: dict[str, str] = {}
    for turn in st.turns(True):
        key = f"person-{turn.speaker_id}" if turn.speaker_id else _slug(turn.speaker or "unknown")
        if key not in people:
            people[key] = xml_text(turn.speaker or "Unknown speaker")
            ET.SubElement(refs, q + "TLCPerson", eId=key, href=f"/person/{key}", showAs=people[key])
    for key, shown in concepts.items():
        ET.SubElement(refs, q + "TLCConcept", eId=key, href=f"/concept/{key}", showAs=xml_text(shown))
    body = ET.SubElement(debate, q + "debateBody")
    wall = st.wall_clock or (lambda _t: None)
    sections = _sections(st)
    speech_n = 0
    vote_numbers = {id(v): n for n, v in enumerate(st.votes, 1)}
    for n, (name, heading, turns, votes) in enumerate(sections, 1):
        section = ET.SubElement(body, q + "debateSection", eId=f"dbsect_{n}", name=name)
        ET.SubElement(section, q + "heading").text = xml_text(heading)
        items = [(t.start, 0, t) for t in turns] + [(v.media_time, 1, v) for v in votes]
        for _, kind, obj in sorted(items, key=lambda x: (x[0], x[1])):
            if kind == 1:
                narrative = ET.SubElement(section, q + "narrative", eId=f"vote_{vote_numbers[id(obj)]}")
                narrative.text = xml_text(obj.label) + " "
                ET.SubElement(narrative, q + "recordedTime", time=obj.start_date, type="startEvent")
                continue
            speech_n += 1
            key = f"person-{obj.speaker_id}" if obj.speaker_id else _slug(obj.speaker or "unknown")
            attrs = {"eId": f"speech_{speech_n}", "by": f"#{key}"}
            start, end = wall(obj.start), wall(obj.end)
            if start is not None and end is not None:
                attrs.update(startTime=start.isoformat(timespec="seconds"), endTime=end.isoformat(timespec="seconds"))
            speech = ET.SubElement(section, q + "speech", **attrs)
            ET.SubElement(speech, q + "from").text = people[key]
            for seg in obj.segments:
                p = ET.SubElement(speech, q + "p")
                if seg.language and LANG_TAG.match(seg.language):
                    p.set("{http://www.w3.org/XML/1998/namespace}lang", seg.language)
                p.text = xml_text(seg.text.strip())  # stored text may predate the input check
        if not turns and not votes:
            ET.SubElement(section, q + "p")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _sections(st: Stenogram) -> list[tuple[str, str, list[Turn], list[VoteEntry]]]:
    """(name, heading, turns, votes) per debate section: what precedes the first item, then each item."""
    turns, title = st.turns(True), st.title or f"Sitting {st.sitting_id}"
    if not st.agenda:
        return [("sitting", title, turns, list(st.votes))]
    items = sorted(st.agenda, key=lambda a: a.start)
    bounds = [a.start for a in items[1:]] + [float("inf")]
    out: list[tuple[str, str, list[Turn], list[VoteEntry]]] = []

    def within(t: float, lo: float, hi: float) -> bool:
        return lo <= t < hi

    first = items[0].start
    before = [t for t in turns if t.start < first]
    early_votes = [v for v in st.votes if v.media_time < first]
    if before or early_votes:
        out.append(("opening", title, before, early_votes))
    for item, hi in zip(items, bounds, strict=True):
        out.append((f"item-{item.position}", f"{item.identifier} — {item.title}",
                    [t for t in turns if within(t.start, item.start, hi)],
                    [v for v in st.votes if within(v.media_time, item.start, hi)]))
    return out


def _slug(name: str) -> str:
    return "speaker-" + (re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-") or "unknown")


def to_rttm_text(st: Stenogram) -> str:
    """NIST RTTM, one SPEAKER line per segment: ``person-<id>`` when confirmed, else the cluster label."""
    from sanarip.rttm import to_rttm

    file_id = str(st.sitting_id) if st.sitting_id else (st.title or "recording")
    runs = [(seg.start, seg.end, f"person-{seg.speaker_id}" if seg.speaker_id else (seg.speaker_label or "unknown"))
            for seg in st.segments]
    return to_rttm(file_id, runs)


CAPTION_FORMATS = frozenset({"vtt", "srt"})  # named ``name.<language>.<fmt>`` on download, as players look for them
EXPORTERS: dict[str, tuple[Callable[[Stenogram], str], str]] = {
    "vtt": (to_webvtt, "text/vtt"),
    "srt": (to_srt, "application/x-subrip"),
    "json": (to_json, "application/json"),
    "txt": (to_text, "text/plain"),
    "xml": (to_akoma_ntoso, "application/akn+xml"),
    "rttm": (to_rttm_text, "text/plain"),
}


def export(st: Stenogram, fmt: str) -> str:
    """Render ``st`` in ``fmt`` (vtt, srt, json, txt, xml, rttm)."""
    try:
        render, _ = EXPORTERS[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}") from None
    return render(st)

