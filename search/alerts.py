"""The ``alerts`` stage: what a sitting's public text matched, stored as one row per sitting.

It runs inside the index job (``SearchIndexer.sync_sitting(..., alerts=True)``) on the documents it
has just indexed and the stems it has just computed, so what alerts add to a final pass, a
publication or a re-index is the matching (``search.matcher``) and one row. It also runs as a job
of its own where no index job runs: after the live draft's new lines (only for subscribers who
asked for live matches) and after a clerk's edit (the web process does not match).

The row (``AlertSitting``: per sitting and pass, draft or not) lists the matched targets and
replaces what the last pass stored; every write bumps its sequence so the mail stage
(``search.fanout``) looks at the sitting again, expands the targets into each subscriber's
passages and skips what it already sent. Nothing here is per subscriber or per match, whatever
the number of subscriptions. The compiled subscriptions are read with the sitting (their cache
key costs a few index lookups), and the write transaction is held only to store the row.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, update

from sanarip.jobs import JobContext
from sanarip.models import AlertSitting, utcnow
from sanarip.outbox import next_digest, queue_mail
from sanarip.pipeline import AlertsPayload
from sanarip.runtime import Runtime
from sanarip.sittings import get_sitting
from sanarip.subscriptions import Mode
from search.base import Document
from search.documents import sitting_documents
from search.matcher import Matcher, SittingWords, current_matcher

_TABLE = AlertSitting.__table__
_REPLACE = (  # built once: every index job runs it
    update(_TABLE)
    .where(_TABLE.c.sitting_id == bindparam("sitting"), _TABLE.c.draft == bindparam("pass_draft"))
    .values(targets=bindparam("keys"), seq=_TABLE.c.seq + 1, updated_at=bindparam("now"))
)


def store_hits(conn: Connection, sitting_id: int, draft: bool, targets: set[str]) -> None:
    """Replace the sitting's row for this pass (none is made for no match) and bump its sequence. Core on a
    connection, not an ORM session: nothing to synchronise, no session to set up."""
    now, keys = utcnow(), " ".join(targets)
    changed = conn.execute(_REPLACE, {"sitting": sitting_id, "pass_draft": draft, "keys": keys, "now": now}).rowcount
    if not changed and targets:
        conn.execute(
            insert(_TABLE).values(
                sitting_id=sitting_id, draft=draft, targets=keys, seq=1, immediate_seq=0, daily_seq=0, updated_at=now
            )
        )


def alerts_pass(runtime: Runtime, sitting_id: int, docs: list[Document], matcher: Matcher, live: bool = False) -> dict:
    """Match ``docs`` (the sitting's public segments) against every target and store the row; returns
    counts and the modes whose subscribers have something new to look at. ``matcher``: ``current_matcher``,
    read in the session that read ``docs`` (the write transaction is held only to store)."""
    if not matcher.targets:
        return {"segments": len(docs), "matches": 0, "modes": []}
    targets = matcher.matched(SittingWords(docs, complete=False), live=live)
    with runtime.db.engine.begin() as conn:
        store_hits(conn, sitting_id, live, targets)
    modes = [
        mode
        for mode, keys in ((Mode.IMMEDIATE, matcher.immediate), (Mode.DAILY, matcher.daily))
        if not keys.isdisjoint(targets)
    ]
    return {"segments": len(docs), "matches": len(targets), "modes": modes}


def queue_delivery(runtime: Runtime, modes: list[str]) -> None:
    """The mail stage: now for immediate subscriptions, at the digest hour for daily ones."""
    if Mode.IMMEDIATE in modes:
        queue_mail(runtime.queue)
    if Mode.DAILY in modes:
        queue_mail(runtime.queue, digest=True, run_after=next_digest(runtime.settings))


def match_sitting(runtime: Runtime, sitting_id: int, live: bool = False) -> dict:
    """Read the sitting's public segments and run the pass on them (the job of its own)."""
    with runtime.db.session(readonly=True) as s:
        docs = sitting_documents(s, get_sitting(s, sitting_id))
        matcher = current_matcher(s, runtime.settings.effective_database_url)
    return alerts_pass(runtime, sitting_id, docs, matcher, live)


def run_alerts_job(ctx: JobContext) -> None:
    args: AlertsPayload = ctx.args
    result = match_sitting(ctx.runtime, args.sitting, live=args.live)
    queue_delivery(ctx.runtime, result["modes"])
    ctx.report(segments=result["segments"], matches=result["matches"])
