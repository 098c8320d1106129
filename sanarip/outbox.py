"""The ``mail`` stage: turn pending matches into one message per subscription, then send the outbox.

At-least-once: a message is composed once (its matches are tied to it in the same transaction,
so no match can land in two messages) and stays unsent until the SMTP server accepts it. A
failure leaves it in the outbox and fails the job, which the queue retries with its back-off
(2, 4, 8 … s, at most 10 minutes, ``MAIL_ATTEMPTS`` times); any later mail job sends it too. A
resend after a crash between "accepted" and "marked sent" carries the same ``Message-ID``.
Unsubscribing deletes the subscription's unsent mail, so nothing goes out after it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from sanarip import alertmail
from sanarip.config import Settings
from sanarip.jobs import JobContext, JobQueue
from sanarip.mail import Letter, Mailer
from sanarip.models import AlertMatch, Committee, OutgoingMail, Person, Subscription, utcnow
from sanarip.pipeline import JobKind, MailPayload
from sanarip.subscriptions import Mode, Target, purge_expired

log = logging.getLogger(__name__)
MAIL_ATTEMPTS = 100  # with the queue's back-off capped at 10 minutes: about 16 hours of retries
MAX_PASSAGES = 50  # passages one message lists (the rest go in the next message)


def queue_mail(queue: JobQueue, digest: bool = False, run_after: datetime | None = None) -> int:
    """Queue a mail job (one at a time per purpose), retried for hours while the server is down."""
    payload = MailPayload(digest=digest)
    return queue.enqueue(JobKind.MAIL, payload.to_dict(), payload.dedupe_key(), run_after, MAIL_ATTEMPTS)


def next_digest(settings: Settings, now: datetime | None = None) -> datetime:
    """The next ``alert_digest_hour`` o'clock in the configured time zone."""
    local = (now or utcnow()).astimezone(settings.tz)
    due = local.replace(hour=settings.alert_digest_hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    return due


def _links(settings: Settings) -> tuple[str, str]:
    base = settings.base_url.rstrip("/")
    return base, urlsplit(base).hostname or "localhost"


def new_message_id(settings: Settings, purpose: str) -> str:
    return f"{uuid.uuid4().hex}.{purpose}@{_links(settings)[1]}"


def unsubscribe_url(settings: Settings, sub: Subscription) -> str:
    return f"{_links(settings)[0]}/subscriptions/unsubscribe/{sub.unsubscribe_token}"


def target_name(s: Session, sub: Subscription) -> str:
    """The subscription's object in the subscriber's language (the query, a name)."""
    if sub.kind == Target.PERSON:
        person = s.get(Person, sub.person_id)
        name = person.name if person else "?"
    elif sub.kind == Target.COMMITTEE:
        committee = s.get(Committee, sub.committee_id)
        name = committee.display_name(sub.language) if committee else "?"
    else:
        name = sub.query or ""
    return alertmail.describe(sub.language, sub.kind, name)


def add_confirmation(s: Session, settings: Settings, sub: Subscription, token: str) -> OutgoingMail:
    """Put the confirmation message of a new subscription in the outbox."""
    url = f"{_links(settings)[0]}/subscriptions/confirm/{token}"
    composed = alertmail.confirmation(sub.language, target_name(s, sub), url, settings.alert_confirm_hours)
    mail = OutgoingMail(subscription_id=sub.id, purpose="confirm", message_id=new_message_id(settings, "confirm"),
                        subject=composed.subject, text=composed.text, html=composed.html)
    s.add(mail)
    return mail


def compose(s: Session, settings: Settings, digest: bool) -> int:
    """One message per confirmed subscription with pending matches (daily ones only for a digest)."""
    modes = [Mode.IMMEDIATE, Mode.DAILY] if digest else [Mode.IMMEDIATE]
    subs = list(s.scalars(
        select(Subscription).where(Subscription.confirmed_at.is_not(None), Subscription.mode.in_(modes),
                                   Subscription.id.in_(select(AlertMatch.subscription_id)
                                                       .where(AlertMatch.message_id.is_(None))))
        .order_by(Subscription.id)))
    base = _links(settings)[0]
    made = 0
    for sub in subs:
        matches = list(s.scalars(select(AlertMatch).where(AlertMatch.subscription_id == sub.id,
                                                          AlertMatch.message_id.is_(None))
                                 .order_by(AlertMatch.sitting_id, AlertMatch.start).limit(MAX_PASSAGES)))
        passages = [alertmail.Passage(m.committee, m.day, m.speaker, m.start, m.snippet,
                                      f"{base}/s/{m.sitting_id}?t={m.start:.1f}", m.draft) for m in matches]
        composed = alertmail.alert(sub.language, target_name(s, sub), passages, unsubscribe_url(settings, sub),
                                   digest=sub.mode == Mode.DAILY)
        mail = OutgoingMail(subscription_id=sub.id, purpose="alert", message_id=new_message_id(settings, "alert"),
                            subject=composed.subject, text=composed.text, html=composed.html)
        s.add(mail)
        s.flush()
        for m in matches:
            m.message_id = mail.id
        made += 1
    return made


def send_outbox(runtime, limit: int = 500) -> int:
    """Send every unsent message, oldest first; raises on the first the server does not accept."""
    settings = runtime.settings
    with runtime.db.session(readonly=True) as s:
        rows = s.execute(select(OutgoingMail.id, Subscription).join(Subscription)
                         .where(OutgoingMail.sent_at.is_(None)).order_by(OutgoingMail.id).limit(limit)).all()
        todo = []
        for mail_id, sub in rows:
            mail = s.get(OutgoingMail, mail_id)
            todo.append((mail_id, Letter(to=sub.email, subject=mail.subject, text=mail.text, html=mail.html,
                                         message_id=mail.message_id, date=mail.created_at,
                                         unsubscribe_url=unsubscribe_url(settings, sub)
                                         if mail.purpose == "alert" else None)))
    if not todo:
        return 0
    mailer = Mailer(settings)
    sent = 0
    try:
        for mail_id, letter in todo:
            try:
                mailer.send(letter)
            except Exception as exc:
                with runtime.db.session() as s:
                    row = s.get(OutgoingMail, mail_id)
                    if row is not None:
                        row.attempts += 1
                        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                raise
            with runtime.db.session() as s:
                row = s.get(OutgoingMail, mail_id)
                if row is not None:  # unsubscribed meanwhile: the row is gone, nothing to mark
                    row.sent_at = utcnow()
                    row.attempts += 1
            sent += 1
    finally:
        mailer.close()
    return sent


def deliver(runtime, digest: bool = False) -> tuple[int, int]:
    """Compose what is due, then send the outbox: (messages composed, messages sent)."""
    settings = runtime.settings
    with runtime.db.session() as s:
        purge_expired(s, timedelta(hours=settings.alert_confirm_hours))
        made = compose(s, settings, digest)
    return made, send_outbox(runtime)


def run_mail_job(ctx: JobContext) -> None:
    """An SMTP failure fails the job; the queue retries it with back-off and nothing is lost."""
    args: MailPayload = ctx.args
    total_made = total_sent = 0
    for _ in range(10):  # matches stored while this job sent (their alerts job found it running) go out too
        made, sent = deliver(ctx.runtime, digest=args.digest)
        total_made, total_sent = total_made + made, total_sent + sent
        if not made and not sent:
            break
        ctx.check()
    ctx.report(composed=total_made, sent=total_sent)
