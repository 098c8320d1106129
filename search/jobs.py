"""The ``index`` job: make a sitting's documents in the index match what the public sees."""

from __future__ import annotations

from sanarip.jobs import JobContext
from sanarip.pipeline import IndexPayload
from search.indexing import SearchIndexer


def run_index_job(ctx: JobContext) -> None:
    """Search engine errors fail the job; the queue retries it later. The sitting's alerts are matched in
    the same pass (the index job is the only one that follows a change of public text everywhere else)."""
    args: IndexPayload = ctx.args
    indexer = SearchIndexer(ctx.runtime)
    try:
        ctx.report(indexed=indexer.sync_sitting(args.sitting, alerts=True))
    finally:
        indexer.close()
