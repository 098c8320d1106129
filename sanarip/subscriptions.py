"""Subscriptions: follow a search, a deputy or a committee by e-mail, double opt-in, no account.

A new subscription is inert until its confirmation link is used (within ``alert_confirm_hours``);
only the link's hash is stored. Every alert carries the subscription's unsubscribe token;
unsubscribing deletes the row, and with it the address, what it was sent and its unsent mail.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sanarip.errors import NotFound, SanaripError
from sanarip.limits import is_id
from sanarip.models import Committee, Person, Subscription, utcnow
from sanarip.texthygiene import checked_text

LANGUAGES = ("ky", "ru", "en")
MAX_PER_ADDRESS = 50  # subscriptions one address may hold (confirmed or not)
MAX_QUERY = 500  # the search parser's own bound (search.query.MAX_QUERY_LENGTH)
# One local part @ one domain with a dot; no spaces, quotes or angle brackets (they never need to be in a
# link-carrying address, and refusing them keeps every header we write trivially well-formed).
EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
FILTER_KEYS = ("committee", "from", "to", "speaker", "language", "official", "agenda")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Target(StrEnum):
    SEARCH = "search"
    PERSON = "person"
    COMMITTEE = "committee"


class Mode(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"


class SubscriptionError(SanaripError, ValueError):
    """A subscription request that cannot be stored; the message says what to fix."""


@dataclass(frozen=True)
class Request:
    """A validated subscription request (the API's JSON body or the pages' form)."""

    email: str
    target: Target
    query: str | None = None
    person_id: int | None = None
    committee: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    mode: Mode = Mode.IMMEDIATE
    language: str = "ky"
    draft: bool = False  # also alerts from the live draft


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def target_key(kind: str, query: str | None = None, filters: dict[str, str] | None = None,
               person_id: int | None = None, committee_id: int | None = None) -> str:
    """What a subscription follows, as a short stable key shared by everyone who follows the same
    thing: the alerts stage stores matches once per key, and the mail stage fans them out."""
    if kind == Target.PERSON:
        return f"p{person_id}"
    if kind == Target.COMMITTEE:
        return f"c{committee_id}"
    spelled = json.dumps([query or "", sorted((filters or {}).items())], ensure_ascii=False)
    return "s" + hashlib.blake2b(spelled.encode(), digest_size=8).hexdigest()


def key_of(sub: Subscription) -> str:
    return target_key(sub.kind, sub.query, sub.filters, sub.person_id, sub.committee_id)


def normal_email(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise SubscriptionError("'email' is required: the address the alerts go to")
    email = raw.strip()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise SubscriptionError("'email' is not an e-mail address such as name@example.org")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def parse_request(data: Any, check_query: Any = None) -> Request:
    """Validate a subscription request; ``check_query(text)`` raises on a query the search cannot run."""
    if not isinstance(data, dict):
        raise SubscriptionError("the body must be a JSON object")
    unknown = set(data) - {"email", "query", "person_id", "committee", "filters", "mode", "language", "draft"}
    if unknown:
        raise SubscriptionError(f"unknown field(s): {', '.join(sorted(unknown))}")
    email = normal_email(data.get("email"))
    given = [k for k in ("query", "person_id", "committee") if data.get(k) not in (None, "")]
    if len(given) != 1:
        raise SubscriptionError("give exactly one of 'query', 'person_id' or 'committee'")
    mode = data.get("mode", Mode.IMMEDIATE)
    if not isinstance(mode, str) or mode not in set(Mode):
        raise SubscriptionError("'mode' must be immediate or daily")
    language = data.get("language", "ky")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise SubscriptionError("'language' must be ky, ru or en")
    draft = data.get("draft", False)
    if not isinstance(draft, bool):
        raise SubscriptionError("'draft' must be true or false")
    filters = _filters(data.get("filters", {}))
    kind = given[0]
    if kind == "query":
        query = data["query"]
        if not isinstance(query, str) or len(query) > MAX_QUERY:
            raise SubscriptionError(f"'query' must be a text of at most {MAX_QUERY} characters")
        checked_text(query, "query")
        if check_query is not None:
            check_query(query)
        return Request(email, Target.SEARCH, query=query.strip(), filters=filters, mode=Mode(mode),
                       language=language, draft=draft)
    if filters:
        raise SubscriptionError("'filters' apply to a search ('query') only")
    if kind == "person_id":
        if not is_id(data["person_id"]):
            raise SubscriptionError("'person_id' must be a person's number")
        return Request(email, Target.PERSON, person_id=data["person_id"], mode=Mode(mode), language=language,
                       draft=draft)
    slug = data["committee"]
    if not isinstance(slug, str) or len(slug) > 64:
        raise SubscriptionError("'committee' must be a committee's short name")
    return Request(email, Target.COMMITTEE, committee=slug, mode=Mode(mode), language=language, draft=draft)


def _filters(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise SubscriptionError("'filters' must be an object such as {\"committee\": \"budget\"}")
    unknown = set(raw) - set(FILTER_KEYS)
    if unknown:
        raise SubscriptionError(f"unknown filter(s): {', '.join(sorted(unknown))}; known: {', '.join(FILTER_KEYS)}")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if key == "official":
            if value not in (True, False, "1", "0", "true", "false", ""):
                raise SubscriptionError("filter 'official' must be true or false")
            if value in (True, "1", "true"):
                out[key] = "1"
            continue
        if not isinstance(value, str) or len(value) > 300:
            raise SubscriptionError(f"filter '{key}' must be a text of at most 300 characters")
        if not value:
            continue
        checked_text(value, key)
        if key in ("from", "to") and not DATE_RE.fullmatch(value):
            raise SubscriptionError(f"filter '{key}' must be a date such as 2026-03-01")
        out[key] = value
    return out


def subscribe(s: Session, req: Request) -> tuple[Subscription, str]:
    """Store an unconfirmed subscription; returns it and the confirmation token (only its hash is kept)."""
    held = s.scalar(select(func.count()).select_from(Subscription).where(Subscription.email == req.email)) or 0
    if held >= MAX_PER_ADDRESS:
        raise SubscriptionError(f"this address already follows {MAX_PER_ADDRESS} things; unsubscribe from some first")
    person_id = committee_id = None
    if req.target == Target.PERSON:
        if s.get(Person, req.person_id) is None:
            raise NotFound(f"there is no person number {req.person_id}")
        person_id = req.person_id
    elif req.target == Target.COMMITTEE:
        committee = s.scalar(select(Committee).where(Committee.slug == req.committee))
        if committee is None:
            raise NotFound(f"there is no committee '{req.committee}'")
        committee_id = committee.id
    token = secrets.token_urlsafe(32)
    sub = Subscription(email=req.email, kind=req.target, query=req.query, filters=req.filters,
                       person_id=person_id, committee_id=committee_id, mode=req.mode, language=req.language,
                       draft=req.draft, confirm_hash=hash_token(token), unsubscribe_token=secrets.token_urlsafe(32))
    s.add(sub)
    s.flush()
    return sub, token


def pending_confirmation(s: Session, token: str, lifetime: timedelta, now: datetime | None = None) -> Subscription:
    """The unconfirmed subscription a confirmation link names; NotFound when unknown, used or expired."""
    sub = s.scalar(select(Subscription).where(Subscription.confirm_hash == hash_token(token)))
    if sub is None or (now or utcnow()) - sub.created_at > lifetime:
        raise NotFound("this confirmation link is unknown, already used or expired; subscribe again")
    return sub


def confirm(s: Session, token: str, lifetime: timedelta, now: datetime | None = None) -> Subscription:
    sub = pending_confirmation(s, token, lifetime, now)
    sub.confirm_hash = None
    sub.confirmed_at = now or utcnow()
    return sub


def by_unsubscribe_token(s: Session, token: str) -> Subscription:
    sub = s.scalar(select(Subscription).where(Subscription.unsubscribe_token == token)) if token else None
    if sub is None:
        raise NotFound("this unsubscribe link is unknown: the subscription has already ended")
    return sub


def unsubscribe(s: Session, token: str) -> None:
    """Delete the subscription (its address, what it was sent and its unsent mail go with it, while the
    address's other subscriptions keep their sections of an unsent digest); NotFound if already gone."""
    sub = by_unsubscribe_token(s, token)
    from sanarip.models import AlertDelivery
    from sanarip.outbox import withdraw  # the outbox composes with this module's enums

    s.execute(delete(AlertDelivery).where(AlertDelivery.subscription_id == sub.id))
    withdraw(s, sub)
    s.delete(sub)


def purge_expired(s: Session, lifetime: timedelta, now: datetime | None = None) -> int:
    """Delete subscriptions never confirmed within the link's lifetime (their addresses go with them)."""
    from sanarip.models import OutgoingMail

    cutoff = (now or utcnow()) - lifetime
    stale = select(Subscription.id).where(Subscription.confirmed_at.is_(None), Subscription.created_at < cutoff)
    ids = list(s.scalars(stale))
    if ids:
        s.execute(delete(OutgoingMail).where(OutgoingMail.subscription_id.in_(ids)))
        s.execute(delete(Subscription).where(Subscription.id.in_(ids)))
    return len(ids)


def has_subscribers(s: Session, draft: bool = False) -> bool:
    """Whether a confirmed subscription exists (that asked for live matches): else no alerts job is queued."""
    query = select(Subscription.id).where(Subscription.confirmed_at.is_not(None))
    if draft:
        query = query.where(Subscription.draft.is_(True))
    return s.scalar(query.limit(1)) is not None


def subscription_dict(sub: Subscription) -> dict[str, Any]:
    """What an admin sees of a subscription."""
    return {"id": sub.id, "email": sub.email, "target": sub.kind, "query": sub.query, "filters": sub.filters,
            "person_id": sub.person_id, "committee_id": sub.committee_id, "mode": sub.mode,
            "language": sub.language, "draft": sub.draft, "created_at": sub.created_at.isoformat(),
            "confirmed_at": sub.confirmed_at.isoformat() if sub.confirmed_at else None}
