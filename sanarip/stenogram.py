"""The stenogram model and its exports: WebVTT, SRT, JSON, plain text, Akoma Ntoso and RTTM.

Pure Python: no model, no database. Times are media seconds on the sitting's timeline.

JSON schema (``to_json``)::

    {"format": "sanarip-stenogram/1", "sitting": {"id", "title", "committee", "date",
     "status": "automatic" | "official", "publication": int | null, "published_at": str | null},
     "segments": [{"id", "start", "end", "speaker": str | null, "speaker_id": int | null,
                   "language": str | null, "unreliable": bool, "text",
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
    speaker_label: str | None = None  # the sitting's voice cluster, "S1", "S2", … (diarization)
    speaker_proposal: dict[str, Any] | None = None  # {"person_id", "name", "score", "source"}: working data

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        words = [Word(**{k: w[k] for k in ("word", "start", "end", "prob") if k in w}) for w in d.get("words") or []]
        known = {k: d.get(k) for k in ("id", "speaker", "speaker_id", "language", "language_prob",
                                       "speaker_label", "speaker_proposal")}
        return cls(start=float(d["start"]), end=float(d["end"]), text=d["text"], words=words,
                   unreliable=bool(d.get("unreliable", False)), **known)

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

    @property
    def status(self) -> str:
        return "official" if self.publication else "automatic"

    def turns(self) -> list[Turn]:
        out: list[Turn] = []
        for seg in self.segments:
            if out and out[-1].speaker_id == seg.speaker_id and out[-1].speaker == seg.speaker:
                out[-1].segments.append(seg)
            else:
                out.append(Turn(seg.speaker, seg.speaker_id, [seg]))
        return out


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


def to_webvtt(st: Stenogram) -> str:
    lines = ["WEBVTT", ""]
    for i, seg in enumerate(st.segments, 1):
        voice = f"<v {_cue_text(seg.speaker)}>" if seg.speaker else ""
        lines += [str(seg.id or i), f"{clock(seg.start)} --> {clock(max(seg.end, seg.start + 0.001))}",
                  voice + _cue_text(seg.text), ""]
    return "\n".join(lines)


def to_srt(st: Stenogram) -> str:
    blocks = []
    for i, seg in enumerate(st.segments, 1):
        who = f"{seg.speaker}: " if seg.speaker else ""
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
    body = [f"[{clock(t.start)[:8]}] {t.speaker or 'Unknown speaker'}: {t.text}" for t in st.turns()]
    return "\n".join(head + body) + "\n"


AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"


def to_akoma_ntoso(st: Stenogram) -> str:
    """An Akoma Ntoso 3.0 ``debate``: one ``speech`` per speaker turn, ``by`` naming a TLCPerson."""
    ET.register_namespace("", AKN_NS)
    q = f"{{{AKN_NS}}}"
    root = ET.Element(q + "akomaNtoso")
    debate = ET.SubElement(root, q + "debate", name="committeeSitting")
    meta = ET.SubElement(debate, q + "meta")
    ident = ET.SubElement(meta, q + "identification", source="#sanarip")
    work_uri = xml_text(f"/akn/kg/debate/{st.date or 'undated'}/{st.committee or 'committee'}-{st.sitting_id or 0}")
    for level, suffix in (("FRBRWork", ""), ("FRBRExpression", "/mul"), ("FRBRManifestation", "/mul.xml")):
        el = ET.SubElement(ident, q + level)
        ET.SubElement(el, q + "FRBRthis", value=work_uri + suffix + "/main")
        ET.SubElement(el, q + "FRBRuri", value=work_uri + suffix)
        ET.SubElement(el, q + "FRBRdate", date=st.date or "1970-01-01", name="sitting")
        ET.SubElement(el, q + "FRBRauthor", href="#sanarip")
        if level == "FRBRWork":
            ET.SubElement(el, q + "FRBRcountry", value="kg")
    refs = ET.SubElement(meta, q + "references", source="#sanarip")
    ET.SubElement(refs, q + "TLCOrganization", eId="sanarip", href="/sanarip", showAs="Sanarip")
    people: dict[str, str] = {}
    for turn in st.turns():
        key = f"person-{turn.speaker_id}" if turn.speaker_id else _slug(turn.speaker or "unknown")
        if key not in people:
            people[key] = xml_text(turn.speaker or "Unknown speaker")
            ET.SubElement(refs, q + "TLCPerson", eId=key, href=f"/person/{key}", showAs=people[key])
    body = ET.SubElement(debate, q + "debateBody")
    section = ET.SubElement(body, q + "debateSection", eId="dbsect_1")
    ET.SubElement(section, q + "heading").text = xml_text(st.title or f"Sitting {st.sitting_id}")
    for n, turn in enumerate(st.turns(), 1):
        key = f"person-{turn.speaker_id}" if turn.speaker_id else _slug(turn.speaker or "unknown")
        speech = ET.SubElement(section, q + "speech", eId=f"speech_{n}", by=f"#{key}",
                               startTime=clock(turn.start), endTime=clock(turn.end))
        ET.SubElement(speech, q + "from").text = people[key]
        for seg in turn.segments:
            p = ET.SubElement(speech, q + "p")
            p.text = xml_text(seg.text.strip())  # stored text may predate the input check
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _slug(name: str) -> str:
    return "speaker-" + (re.sub(r"[^\w]+", "-", name.casefold(), flags=re.UNICODE).strip("-") or "unknown")


def to_rttm_text(st: Stenogram) -> str:
    """NIST RTTM, one SPEAKER line per segment: ``person-<id>`` when confirmed, else the cluster label."""
    from sanarip.rttm import to_rttm

    file_id = str(st.sitting_id) if st.sitting_id else (st.title or "recording")
    runs = [(seg.start, seg.end, f"person-{seg.speaker_id}" if seg.speaker_id else (seg.speaker_label or "unknown"))
            for seg in st.segments]
    return to_rttm(file_id, runs)


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

