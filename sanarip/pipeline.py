"""The pipeline: the job kinds, their typed payloads, their dedupe keys, and what follows what.

Stages (the packages' job handlers) only do their own work and return; when a job is done the
worker asks :func:`next_jobs` what comes next, so the order of the stages lives here alone:

    record ─┐
            ├─► transcribe ─► diarize ─► index (final) ─► the sitting is ``transcribed``
    import ─┘                            └─ its alerts ─► mail

``FINAL_PASS`` is the final pass's chain. Sentence segmentation and per-utterance language
labels run inside ``transcribe``; ``diarize`` gives each segment its speaker label and
proposal. ``learn_voice`` (a clerk confirmed a speaker) runs on its own, outside the chain.
Every ``index`` job (the text the public sees changed) matches the sitting's alerts in the same
pass and queues ``mail`` when something matched; an ``alerts`` job of its own follows the live
draft's new lines and clerks' edits (queued by the search indexer). A new subscription also
queues ``mail`` for its confirmation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sanarip.errors import SanaripError

if TYPE_CHECKING:
    from sanarip.jobs import JobQueue


class JobKind(StrEnum):
    RECORD = "record"
    IMPORT = "import"
    LIVE = "live"
    TRANSCRIBE = "transcribe"
    INDEX = "index"
    DIARIZE = "diarize"
    LEARN_VOICE = "learn_voice"
    POSTER = "poster"  # one frame for the home page's card; queued on demand for older sittings
    SLEEP = "sleep"  # diagnostic: tests and benches
    ALERTS = "alerts"  # match a sitting's newly public segments against the subscriptions
    MAIL = "mail"  # compose due alerts and send every unsent mail over SMTP
    CLIP = "clip"  # an MP4 of a range of a sitting, asked for by a viewer
    ENROLL_VOICE = "enroll_voice"  # a voice profile from samples an admin uploaded (transcribe/enrolment.py)


# Hours-long kinds; a worker runs them in their own slots so they never starve short jobs.
LONG_KINDS = frozenset({JobKind.RECORD, JobKind.LIVE})


class PayloadError(SanaripError):
    """A job payload that does not fit its kind."""


@dataclass(frozen=True)
class Payload:
    """A job's arguments. Subclasses name their fields with plain JSON types."""

    kind: ClassVar[JobKind]

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Payload:
        """Validate ``data`` (as stored in the job row) field by field."""
        data = dict(data or {})
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise PayloadError(f"{cls.kind} job: unknown payload field(s) {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING:
                    raise PayloadError(f"{cls.kind} job: payload field {name!r} is required")
                continue
            values[name] = _check(cls.kind, name, data[name], hints[name])
        return cls(**values)

    def __post_init__(self) -> None:
        sitting = getattr(self, "sitting", None)
        if sitting is not None and sitting < 1:
            raise PayloadError(f"{self.kind} job: no sitting {sitting}")

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def dedupe_key(self) -> str | None:
        """Jobs of one kind for one sitting run once at a time."""
        sitting = getattr(self, "sitting", None)
        return f"{self.kind}:{sitting}" if sitting is not None else None


def _check(kind: JobKind, name: str, value: Any, hint: Any) -> Any:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    for t in allowed:
        if t is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and isinstance(value, t):
            return value
    raise PayloadError(f"{kind} job: payload field {name!r} has an invalid value {value!r}")


@dataclass(frozen=True)
class RecordPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.RECORD
    sitting: int
    end_at: str | None = None  # ISO time; else the sitting's scheduled end


@dataclass(frozen=True)
class ImportPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.IMPORT
    sitting: int


@dataclass(frozen=True)
class LivePayload(Payload):
    kind: ClassVar[JobKind] = JobKind.LIVE
    sitting: int
    drain: bool = False  # transcribe every stored chunk first (offline use: tests, benches)
    language: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class TranscribePayload(Payload):
    kind: ClassVar[JobKind] = JobKind.TRANSCRIBE
    sitting: int
    language: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class IndexPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.INDEX
    sitting: int
    final: bool = False  # the last stage of the final pass: the sitting becomes transcribed

    def dedupe_key(self) -> str | None:
        # A final-pass index job must not merge into a clerk's re-index: its completion counts.
        return f"{self.kind}:{'final:' if self.final else ''}{self.sitting}"


@dataclass(frozen=True)
class DiarizePayload(Payload):
    kind: ClassVar[JobKind] = JobKind.DIARIZE
    sitting: int


@dataclass(frozen=True)
class PosterPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.POSTER
    sitting: int


@dataclass(frozen=True)
class ClipPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.CLIP
    sitting: int
    start_ms: int  # the range on the sitting's timeline, in milliseconds (sanarip.clips.ClipRange)
    end_ms: int
    burn: bool = False  # captions drawn into the picture as well

    def dedupe_key(self) -> str | None:
        return f"{self.kind}:{self.sitting}:{self.start_ms}-{self.end_ms}{':burn' if self.burn else ''}"


@dataclass(frozen=True)
class VoiceProfilePayload(Payload):
    """Add the voice of segments a clerk attributed to ``person`` to that person's profile."""

    kind: ClassVar[JobKind] = JobKind.LEARN_VOICE
    sitting: int
    person: int

    def dedupe_key(self) -> str | None:
        return f"{self.kind}:{self.sitting}:{self.person}"


@dataclass(frozen=True)
class EnrolPayload(Payload):
    """Store ``person``'s voice profile from the samples uploaded under the private storage
    prefix ``upload`` (deleted by the job); ``names`` are the files' names, one a line, in the
    order of their keys (for the admin's messages)."""

    kind: ClassVar[JobKind] = JobKind.ENROLL_VOICE
    person: int
    upload: str
    names: str

    def __post_init__(self) -> None:
        if self.person < 1 or not self.upload.startswith("work/enrol/"):
            raise PayloadError(f"{self.kind} job: needs a person and an upload under work/enrol/")


@dataclass(frozen=True)
class SleepPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.SLEEP
    seconds: float = 0.0
    log: str | None = None  # append "<job id> <pid>" to this file when done


@dataclass(frozen=True)
class AlertsPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.ALERTS
    sitting: int
    live: bool = False  # the live draft: only subscriptions that asked for live matches

    def dedupe_key(self) -> str | None:
        return f"{self.kind}:{'live:' if self.live else ''}{self.sitting}"


@dataclass(frozen=True)
class MailPayload(Payload):
    kind: ClassVar[JobKind] = JobKind.MAIL
    digest: bool = False  # compose the daily digests that are due (queued to run at the digest hour)

    def dedupe_key(self) -> str | None:
        return f"{self.kind}:{'digest' if self.digest else 'now'}"


PAYLOADS: dict[JobKind, type[Payload]] = {cls.kind: cls for cls in Payload.__subclasses__()}

FINAL_PASS = (JobKind.TRANSCRIBE, JobKind.DIARIZE, JobKind.INDEX)


def job_kind(kind: str) -> JobKind:
    try:
        return JobKind(kind)
    except ValueError:
        raise PayloadError(f"unknown job kind {kind!r}; known: {', '.join(JobKind)}") from None


def parse_payload(kind: str, data: dict[str, Any] | None) -> Payload:
    return PAYLOADS[job_kind(kind)].parse(data)


def next_jobs(payload: Payload) -> list[Payload]:
    """What the pipeline runs after a job with ``payload`` is done."""
    if isinstance(payload, RecordPayload | ImportPayload):
        return [TranscribePayload(payload.sitting)]
    if isinstance(payload, TranscribePayload):
        return [DiarizePayload(payload.sitting)]
    if isinstance(payload, DiarizePayload):
        return [IndexPayload(payload.sitting, final=True)]
    return []


def final_pass_complete(payload: Payload) -> bool:
    """True when ``payload`` is the last stage of the final pass (the sitting is transcribed)."""
    return isinstance(payload, IndexPayload) and payload.final


class Indexer(Protocol):
    """How a stage or a clerk's edit tells the search index that a sitting changed. The search
    package implements it; the composition roots (worker, CLI, web app) put it on the Runtime."""

    def sitting_changed(self, sitting_id: int) -> None: ...

    def segments_added(self, sitting_id: int, segment_ids: list[int]) -> None: ...


class QueueIndexer:
    """The core's own indexer, for a process without a search index: an ``index`` job does it."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def sitting_changed(self, sitting_id: int) -> None:
        self.queue.submit(IndexPayload(sitting_id))

    def segments_added(self, sitting_id: int, segment_ids: list[int]) -> None:
        self.queue.submit(IndexPayload(sitting_id))
