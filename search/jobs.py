"""The ``index`` job: make a sitting's documents in the index match what the public sees."""

from __future__ import annotations

from sanarip.catalog import get_sitting
from sanarip.jobs import JobContext
from search import open_index
from search.documents import sitting_documents


def run_index_job(ctx: JobContext) -> None:
    """Payload ``{"sitting": id}``. Search engine errors fail the job; the queue retries it later."""
    sitting_id = int(ctx.payload["sitting"])
    with ctx.runtime.db.session(readonly=True) as s:
        docs = sitting_documents(s, get_sitting(s, sitting_id))
    index = open_index(ctx.runtime.settings)
    try:
        index.replace_sitting(sitting_id, docs)
    finally:
        index.close()
    ctx.report(indexed=len(docs))
