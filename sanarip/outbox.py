"""The outbox of the ``mail`` stage: messages composed once, kept until the SMTP server accepts them.

``search.fanout`` turns what the alerts stage stored into messages (it needs the search's matcher
and snippets); this module holds the messages and sends them. At-least-once: a message is
composed once (what it lists is recorded as delivered in the same transaction, so no match can
land in two messages) and stays unsent until the SMTP server accepts it. A
failure leaves it in the outbox and fails the job, which the queue retries with its back-off
(2, 4, 8 … s, at most 10 minutes, ``MAIL_ATTEMPTS`` times); any later mail job sends it too. A
resend after a crash between "accepted" and "marked sent" carries the same ``Message-ID``.
Unsubscribing deletes the subscription's unsent mail, so nothing goes out after it; an unsent
digest with other subscriptions' sections is composed again without its section (``withdraw``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sanarip import alertmail
from sanarip.config import Settings
from sanarip.jobs import JobQueue
from sanarip.mail import Letter, Mailer
from sanarip.models import Committee, OutgoingMail, Person, Subscription, utcnow
from sanarip.pipeline import JobKind, MailPayload
from sanarip.subscriptions import Mode, Target

log = logging.getLogger(__name__)
MAIL_ATTEMPTS = 100  # with the queue's back-off capped at 10 minutes: about 16 hours of retries


class Purpose(StrEnum):
    """What an outgoing message is for (``OutgoingMail.purpose``, and its Message-ID's tag)."""

    CONFIRM = "confirm"
    ALERT = "alert"


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
    mail = OutgoingMail(subscription_id=sub.id, purpose=Purpose.CONFIRM,
                        message_id=new_message_id(settings, Purpose.CONFIRM),
                        subject=composed.subject, text=composed.text, html=composed.html)
    s.add(mail)
    return mail


def add_alert(s: Session, settings: Settings, sections: list[tuple[Subscription, list[alertmail.Passage]]]
              ) -> OutgoingMail:
    """Put one alert in the outbox: a subscription's new passages now, or an address's daily digest with
    a section per subscription. The message belongs to the first section's subscription: its link is the
    ``List-Unsubscribe`` header. A digest keeps its sections, from which ``withdraw`` composes it again."""
    first = sections[0][0]
    mail = OutgoingMail(subscription_id=first.id, purpose=Purpose.ALERT,
                        message_id=new_message_id(settings, Purpose.ALERT))
    if first.mode == Mode.DAILY:
        mail.sections = [{"subscription": sub.id, "unsubscribe_url": unsubscribe_url(settings, sub),
                          "passages": [asdict(p) for p in passages]} for sub, passages in sections]
        composed = _digest(s, mail.sections)
    else:
        ((sub, passages),) = sections
        composed = alertmail.alert(sub.language, target_name(s, sub), passages, unsubscribe_url(settings, sub),
                                   digest=False)
    mail.subject, mail.text, mail.html = composed.subject, composed.text, composed.html
    s.add(mail)
    return mail


def _digest(s: Session, sections: list[dict]) -> alertmail.Composed:
    """A digest from its stored sections, in the language of the first section's subscription."""
    subs = [s.get(Subscription, section["subscription"]) for section in sections]
    return alertmail.digest(subs[0].language, [
        alertmail.Section(target_name(s, sub), [alertmail.Passage(**p) for p in section["passages"]],
                          section["unsubscribe_url"])
        for sub, section in zip(subs, sections, strict=True)])


def withdraw(s: Session, sub: Subscription) -> None:
    """The outbox's part of an unsubscribe: nothing more goes out for ``sub``, all else still does.

    Its own unsent messages are deleted. An unsent digest of its address that also has other sections
    is composed again without its section and passes to the next section's subscription: those
    sections' passages are recorded as delivered, so no later pass would list them again.
    """
    unsent = s.scalars(select(OutgoingMail).join(Subscription).where(
        Subscription.email == sub.email, OutgoingMail.purpose == Purpose.ALERT, OutgoingMail.sent_at.is_(None)))
    for mail in list(unsent):
        sections = mail.sections or []
        kept = [section for section in sections if section["subscription"] != sub.id]
        if not kept or len(kept) == len(sections):
            continue  # its own (deleted below) or not one of its sections
        composed = _digest(s, kept)
        mail.subscription_id, mail.sections = kept[0]["subscription"], kept
        mail.subject, mail.text, mail.html = composed.subject, composed.text, composed.html
    s.flush()  # before the delete: the rebuilt digests no longer belong to ``sub``
    s.execute(delete(OutgoingMail).where(OutgoingMail.subscription_id == sub.id))


def passage_link(settings: Settings, sitting_id: int, start: float) -> str:
    return f"{_links(settings)[0]}/s/{sitting_id}?t={start:.1f}"


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
                                         if mail.purpose == Purpose.ALERT else None)))
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
