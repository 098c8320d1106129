"""The SQLAlchemy schema: DESIGN.md's data model. Times are UTC; media times are seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class SegmentSource(StrEnum):
    """Who wrote a transcript segment: the live draft, the final pass, or a clerk."""

    LIVE = "live"
    FINAL = "final"
    CLERK = "clerk"


ROLES = ("clerk", "editor", "admin")


class Committee(Base):
    __tablename__ = "committee"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"ky": .., "ru": .., "en": ..}
    stream_url: Mapped[str | None] = mapped_column(String(2000))
    default_language: Mapped[str] = mapped_column(String(8), default="ru")
    fallback_language: Mapped[str | None] = mapped_column(String(8))
    model: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Kyrgyz (issue 22): the languages spoken here ("ky,ru,en" when unset) and {"ky": "/models/…"} overrides.
    languages: Mapped[str | None] = mapped_column(String(64))
    language_models: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def display_name(self, lang: str | None = None) -> str:
        return (self.names or {}).get(lang or "", "") or self.name


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    faction: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(300))


class Sitting(Base):
    __tablename__ = "sitting"
    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    source_url: Mapped[str | None] = mapped_column(String(2000))
    scheduled_start: Mapped[datetime | None] = mapped_column()
    scheduled_end: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)  # sanarip.sittings
    failure_reason: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    content_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The live draft's newest words, not yet committed to a segment: {"start", "text", "language"}.
    live_partial: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    committee: Mapped[Committee] = relationship()


class MediaSegment(Base):
    __tablename__ = "media_segment"
    __table_args__ = (UniqueConstraint("sitting_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    media_start: Mapped[float] = mapped_column(Float)
    duration: Mapped[float] = mapped_column(Float)
    wall_clock_start: Mapped[datetime | None] = mapped_column()
    wall_clock_end: Mapped[datetime | None] = mapped_column()
    path: Mapped[str | None] = mapped_column(String(1000))
    is_gap: Mapped[bool] = mapped_column(Boolean, default=False)
    discontinuity: Mapped[bool] = mapped_column(Boolean, default=False)


class TranscriptSegment(Base):
    __tablename__ = "transcript_segment"
    __table_args__ = (Index("ix_segment_sitting_start", "sitting_id", "start"),
                      Index("ix_segment_speaker", "speaker_id"))  # a deputy's speeches (records)
    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[list[Any]] = mapped_column(default=list)  # [{"word","start","end","prob"}]
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    language: Mapped[str | None] = mapped_column(String(8))
    language_prob: Mapped[float | None] = mapped_column(Float)
    unreliable: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(8), default=SegmentSource.FINAL)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # A passage heard as Kyrgyz with no Kyrgyz model configured: empty text, waiting for a clerk.
    needs_transcription: Mapped[bool] = mapped_column(Boolean, default=False)
    speaker_label: Mapped[str | None] = mapped_column(String(16))  # diarization cluster: S1, S2 …
    speaker_proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # working data, never published

    speaker: Mapped[Person | None] = relationship()


class Publication(Base):
    """A frozen, numbered version of a sitting's stenogram (segments snapshot as JSON)."""

    __tablename__ = "publication"
    __table_args__ = (UniqueConstraint("sitting_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    segments: Mapped[list[Any]] = mapped_column(default=list)


class Revision(Base):
    __tablename__ = "revision"
    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(16))  # edit | speaker | split | merge | revert
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claim", "status", "kind", "run_after"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # sanarip.jobs.JobStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    worker: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default="clerk")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    name: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class WebSession(Base):
    """A logged-in browser: the cookie holds a random id whose hash is this row's key."""

    __tablename__ = "web_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's session id
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Throttle(Base):
    """A counter shared by every process: login failures (with back-off) and fixed-window rate limits."""

    __tablename__ = "throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "login-user:clara", "search:10.0.0.1" …
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[float] = mapped_column(Float, default=0.0)  # unix time
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0, index=True)  # unix time


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- record (issue 23): Popolo people and groups, agenda items, votes ---
class Organization(Base):
    """A Popolo organization: faction, party, committee (a Sanarip committee links here), chamber."""

    __tablename__ = "organization"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    classification: Mapped[str] = mapped_column(String(64), default="faction", index=True)
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committee.id", ondelete="SET NULL"), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))
    founding_date: Mapped[str | None] = mapped_column(String(10))
    dissolution_date: Mapped[str | None] = mapped_column(String(10))


class Identifier(Base):
    """An identifier (scheme + value) of a person or an organization; scheme ``popolo`` keeps its Popolo id."""

    __tablename__ = "identifier"
    __table_args__ = (Index("ix_identifier_value", "identifier", "scheme"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"),
                                                        index=True)
    scheme: Mapped[str] = mapped_column(String(100))
    identifier: Mapped[str] = mapped_column(String(300))


class Post(Base):
    """A position in an organization (chair, deputy chair) that a membership may hold."""

    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(100))
    popolo_id: Mapped[str | None] = mapped_column(String(300), unique=True)


class Membership(Base):
    __tablename__ = "membership"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="SET NULL"))
    role: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[str | None] = mapped_column(String(10))  # ISO date, as Popolo gives it
    end_date: Mapped[str | None] = mapped_column(String(10))
    popolo_id: Mapped[str | None] = mapped_column(String(300), unique=True)


class AgendaItem(Base):
    """One item of a sitting's agenda, placed on the sitting's media timeline."""

    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("sitting_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, … (the n of /s/<id>/item/<n>)
    identifier: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(1000))
    link: Mapped[str | None] = mapped_column(String(2000))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)


class VoteEvent(Base):
    """A Popolo vote event with its motion; ``identifier`` is the idempotency key of pushes and imports."""

    __tablename__ = "vote_event"
    __table_args__ = (Index("ix_vote_event_sitting_time", "sitting_id", "media_time"),
                      Index("ix_vote_event_start", "start_date", "id"))  # a deputy's votes, newest first
    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    motion_identifier: Mapped[str | None] = mapped_column(String(200))
    motion_text: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[datetime] = mapped_column()
    media_time: Mapped[float] = mapped_column(Float)
    in_gap: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[str | None] = mapped_column(String(100))
    counts: Mapped[list[Any]] = mapped_column(default=list)  # [{"option", "value"}]
    group_results: Mapped[list[Any]] = mapped_column(default=list)  # [{"group_id", "group", "result", "counts"}]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vote(Base):
    """One deputy's vote in one vote event.

    Keyed by (vote event, person), clustered on SQLite (WITHOUT ROWID): an import appends each vote
    event's votes to one place of one B-tree, where a rowid table and a unique index on the same pair
    were two (issue 23's import figure). (person, vote event, option) covers a deputy's attendance count.
    """

    __tablename__ = "vote"
    __table_args__ = (Index("ix_vote_person_event", "person_id", "vote_event_id", "option"),
                      {"sqlite_with_rowid": False})
    vote_event_id: Mapped[int] = mapped_column(ForeignKey("vote_event.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    option: Mapped[str] = mapped_column(String(16))  # yes | no | abstain | absent | not voting
    group_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))


class VoteGroupTally(Base):
    """One faction's votes in one vote event, written with the votes by ``store_vote_events``.

    The record pages aggregate these rows (a faction per vote event) instead of every deputy's vote:
    cohesion and attendance over five years read 120,000 rows here, not 2.4 million votes. The rows go
    with their vote event (cascade) and are rewritten when it is pushed again; ``start_date`` repeats
    the vote event's so that a date range is one index range.
    """

    __tablename__ = "vote_group_tally"
    __table_args__ = (Index("ix_vote_group_tally_range", "group_id", "start_date", "yes", "no", "listed",
                            "present"),)
    vote_event_id: Mapped[int] = mapped_column(ForeignKey("vote_event.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    start_date: Mapped[datetime] = mapped_column()
    yes: Mapped[int] = mapped_column(Integer)
    no: Mapped[int] = mapped_column(Integer)
    listed: Mapped[int] = mapped_column(Integer)  # the faction's members listed in the vote event
    present: Mapped[int] = mapped_column(Integer)  # of them, voted or recorded present (votes.PRESENT)
    result: Mapped[str | None] = mapped_column(String(100))  # the faction's entry in group_results


# --- alerts ---
class Subscription(Base):
    """Someone following a search, a deputy or a committee by e-mail (double opt-in, no account).

    The address is kept only for its alerts: unsubscribing deletes the row, its matches and its mail.
    """

    __tablename__ = "subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # sanarip.subscriptions.Target: search | person | committee
    query: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="immediate")  # immediate | daily
    language: Mapped[str] = mapped_column(String(8), default="ky")
    draft: Mapped[bool] = mapped_column(Boolean, default=False)  # also match the live draft
    confirm_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 of the link's token
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)


class AlertSitting(Base):
    """What a sitting's public text (``draft``: its live draft) matched, one row per sitting and pass.

    ``targets`` lists the matched targets' keys, space-separated (``sanarip.subscriptions.target_key``
    has no space; text, not JSON, which every index job would encode: a saved search with
    its filters, a deputy, a committee); the mail stage expands them into passages for each
    subscriber. Each write bumps ``seq``; a mode's mail stage has seen the row up to
    ``immediate_seq`` / ``daily_seq``, so a row is pending for that mode while ``seq`` is greater.
    """

    __tablename__ = "alert_sitting"
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True)
    draft: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    targets: Mapped[str] = mapped_column(Text, default="")
    seq: Mapped[int] = mapped_column(Integer, default=1)
    immediate_seq: Mapped[int] = mapped_column(Integer, default=0)
    daily_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """The segments of a sitting already put in one of a subscription's messages (never sent twice):
    ``segments`` is a list of ``[segment id, start, end]`` (the times: a live subscriber's final-pass
    line over a moment already sent is skipped, though the live row it came from is gone)."""

    __tablename__ = "alert_delivery"
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id", ondelete="CASCADE"),
                                                 primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    segments: Mapped[list[Any]] = mapped_column(default=list)


class OutgoingMail(Base):
    """One e-mail, composed once and kept until the SMTP server accepts it: a retry sends the same
    bytes with the same ``Message-ID`` header, so a resend after a crash is recognisably the same.

    A daily digest keeps what it was composed from (``sections``, ``sanarip.outbox``): unsubscribing
    from one of its sections rebuilds it without that section, the others' passages still go out.
    """

    __tablename__ = "outgoing_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # confirm | alert
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sections: Mapped[list[Any] | None] = mapped_column(JSON)  # a digest's sections (subscription, what, link, passages)


# --- speakers ---


class VoiceProfile(Base):
    """One voice embedding of a person (biometric data: the 256 numbers only, never audio).
    ``source`` is ``enroll`` (an admin's sample recording) or ``confirmed`` (a segment a clerk
    attributed to the person; capped per person, most recent kept)."""

    __tablename__ = "voice_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    embedding: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), default="enroll")
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # speech the embedding was computed from
    segment_id: Mapped[int | None] = mapped_column(Integer)  # the confirmed segment, when from one
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
