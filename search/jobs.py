"""The ``index`` job: make a sitting's documents in the index match what the public sees."""

from __future__ import annotations

from sanarip.jobs import JobContext
from sanarip.pipeline import IndexPayload
from search.alerts import queue_delivery
from search.indexing import SearchIndexer


def run_index_job(ctx: JobContext) -> None:
    """Search engine errors fail the job; the queue retries it later. The sitting's alerts are matched in
    the same pass (no alerts job follows an index job), then their mail is queued, as the alerts job does."""
    args: IndexPayload = ctx.args
    indexer = SearchIndexer(ctx.runtime)
    try:
        result = indexer.sync_sitting(args.sitting, alerts=True)
        queue_delivery(ctx.runtime, result["matching"]["modes"])
        ctx.report(indexed=result["indexed"], matched=result["matching"]["matches"])
    finally:
        indexer.close()
