"""The ``mail`` stage's composing: what the alerts stage stored, fanned out into one message per subscriber.

A sitting's row (``AlertSitting``) lists the targets its text matched; a row is pending for a mode
(immediate, daily) until this stage has looked at its latest write. For each pending row with
subscribers of the mode, the sitting is matched again for those targets only, now with every
matching segment, and each subscriber gets the segments not yet delivered to them
(``AlertDelivery``): a committee's follower only the sitting's first line, once; a live subscriber
no final-pass line over a moment already sent from the draft. Snippets are made here, by the
search's own highlighter, only for what is sent. The message and what it lists are stored in one
transaction (no match in two messages); ``sanarip.outbox`` sends them.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sanarip import alertmail
from sanarip.config import Settings
from sanarip.jobs import JobContext
from sanarip.models import AlertDelivery, AlertSitting, Subscription
from sanarip.outbox import add_alert, passage_link, send_outbox
from sanarip.pipeline import MailPayload
from sanarip.sittings import get_sitting
from sanarip.subscriptions import Mode, key_of, purge_expired
from search.base import Document
from search.documents import sitting_documents
from search.highlight import snippet
from search.matcher import SittingWords, current_matcher
from search.query import Query

MAX_PASSAGES = 50  # passages one message lists (the rest go in the next message)
SEEN = {Mode.IMMEDIATE: AlertSitting.immediate_seq, Mode.DAILY: AlertSitting.daily_seq}


def compose(s: Session, settings: Settings, digest: bool) -> int:
    """One message per confirmed immediate subscription with something new, or for a digest one message
    per address with a section per daily subscription (disjoint, so the digest job and the immediate one
    never compose the same match); at most ``MAX_PASSAGES`` passages a message, the rest go next."""
    mode = Mode.DAILY if digest else Mode.IMMEDIATE
    seen = SEEN[mode]
    rows = s.execute(
        select(AlertSitting.sitting_id, AlertSitting.draft, AlertSitting.seq, AlertSitting.targets)
        .where(AlertSitting.seq > seen)
        .order_by(AlertSitting.sitting_id, AlertSitting.draft)
    ).all()
    if not rows:
        return 0
    followers: dict[str, list[Subscription]] = {}
    for sub in s.scalars(
        select(Subscription)
        .where(Subscription.confirmed_at.is_not(None), Subscription.mode == mode)
        .order_by(Subscription.id)
    ):
        followers.setdefault(key_of(sub), []).append(sub)
    matcher = current_matcher(s, settings.effective_database_url)
    sittings = sorted({row.sitting_id for row in rows})
    stored = {
        (d.subscription_id, d.sitting_id): d
        for d in s.scalars(select(AlertDelivery).where(AlertDelivery.sitting_id.in_(sittings)))
    }
    sent: dict[tuple[int, int], list[list]] = {}  # what each subscriber has of a sitting, this message included
    new: dict[int, list[tuple[Document, Query | None, bool]]] = {}
    words: dict[int, SittingWords] = {}
    for sitting_id, draft, _, targets in rows:
        keys = {key for key in targets.split() if key in followers and key in matcher.targets}
        if not keys:
            continue
        if sitting_id not in words:
            words[sitting_id] = SittingWords(sitting_documents(s, get_sitting(s, sitting_id)))
        docs = words[sitting_id].docs
        for key, where in matcher.hits(words[sitting_id], live=draft, only=keys).items():
            target = matcher.targets[key]
            for sub in followers[key]:
                if draft and not sub.draft:
                    continue
                had = sent.get((sub.id, sitting_id))
                if had is None:
                    old = stored.get((sub.id, sitting_id))
                    had = sent[(sub.id, sitting_id)] = list(old.segments) if old else []
                if target.committee is not None and had:
                    continue  # a committee's follower hears of a sitting once
                ids = {segment for segment, _, _ in had}
                for i in where[:1] if target.committee is not None else where:
                    doc = docs[i]
                    if doc.segment in ids or (sub.draft and any(a < doc.end and doc.start < b for _, a, b in had)):
                        continue
                    had.append([doc.segment, doc.start, doc.end])
                    new.setdefault(sub.id, []).append((doc, target.query, draft))
    made, complete, snippets = 0, True, {}
    by_id = {sub.id: sub for subs in followers.values() for sub in subs}
    messages: dict[str | int, list[int]] = {}  # a digest goes to an address, an immediate alert per subscription
    for sub_id in sorted(new):
        messages.setdefault(by_id[sub_id].email if digest else sub_id, []).append(sub_id)
    for group in messages.values():
        room, sections = MAX_PASSAGES, []
        for sub_id in group:
            items = sorted(new[sub_id], key=lambda item: (item[0].sitting, item[0].start))
            if len(items) > room:
                items, complete = items[:room], False
            if not items:
                break
            room -= len(items)
            sections.append((by_id[sub_id], items))
        for sub, items in sections:
            for doc, _, _ in items:
                key = (sub.id, doc.sitting)
                row = stored.get(key)
                if row is None:
                    row = stored[key] = AlertDelivery(subscription_id=sub.id, sitting_id=doc.sitting, segments=[])
                    s.add(row)
                row.segments = [*row.segments, [doc.segment, doc.start, doc.end]]
        add_alert(
            s,
            settings,
            [
                (sub, [passage(settings, doc, query, live, snippets) for doc, query, live in items])
                for sub, items in sections
            ],
        )
        made += 1
    if complete:  # else the rows stay pending: the next pass lists the rest
        for sitting_id, draft, seq, _ in rows:
            s.execute(
                update(AlertSitting)
                .where(AlertSitting.sitting_id == sitting_id, AlertSitting.draft == draft)
                .values({seen: seq})
            )
    return made


def passage(settings: Settings, doc: Document, query: Query | None, live: bool, snippets: dict) -> alertmail.Passage:
    """One passage of a message, its snippet marked by the search's highlighter (one per segment and query)."""
    key = (doc.segment, id(query))
    if key not in snippets:
        snippets[key] = snippet(doc.text, query or Query(), doc.language)[0]
    return alertmail.Passage(
        doc.committee,
        doc.day,
        doc.speaker,
        doc.start,
        snippets[key],
        passage_link(settings, doc.sitting, doc.start),
        live,
    )


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
    for _ in range(10):  # rows stored while this job sent (their job found it running) go out too
        made, sent = deliver(ctx.runtime, digest=args.digest)
        total_made, total_sent = total_made + made, total_sent + sent
        if not made and not sent:
            break
        ctx.check()
    ctx.report(composed=total_made, sent=total_sent)
