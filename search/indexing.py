"""The one writer of the search index: a sitting's documents made to match what the public sees.

The index job, the live draft (through ``Runtime.indexer``) and the clerks' edits all come
here. When the engine cannot be reached the change is not lost: an ``index`` job is queued
and the worker retries it until the index matches the database again.
"""

from __future__ import annotations

import logging
import threading

from sanarip.pipeline import AlertsPayload, IndexPayload
from sanarip.runtime import Runtime
from sanarip.sittings import get_sitting
from sanarip.subscriptions import has_subscribers
from search import SearchIndex, open_index
from search.alerts import alerts_pass
from search.documents import sitting_documents
from search.matcher import current_matcher

log = logging.getLogger(__name__)


class SearchIndexer:
    """Writes to the configured index (opened on first use); implements ``sanarip.pipeline.Indexer``."""

    def __init__(self, runtime: Runtime, index: SearchIndex | None = None) -> None:
        self.runtime = runtime
        self._index = index
        self._owned = index is None
        self._lock = threading.Lock()

    @property
    def index(self) -> SearchIndex:
        with self._lock:
            if self._index is None:
                self._index = open_index(self.runtime.settings)
            return self._index

    def sync_sitting(self, sitting_id: int, alerts: bool = False) -> dict:
        """Replace the sitting's documents with what the public sees now; raises if search is down.
        ``alerts`` (the index job): then match the same documents, whose stems the index has just
        computed, against the subscriptions and store what they matched (``search.alerts``). Returns
        the count indexed and, with ``alerts``, the pass's result (the caller queues the mail)."""
        with self.runtime.db.session(readonly=True) as s:
            docs = sitting_documents(s, get_sitting(s, sitting_id))
            matcher = current_matcher(s, self.runtime.settings.effective_database_url) if alerts else None
        self.index.replace_sitting(sitting_id, docs)
        if matcher is None:
            return {"indexed": len(docs)}
        return {"indexed": len(docs), "matching": alerts_pass(self.runtime, sitting_id, docs, matcher)}

    def sitting_changed(self, sitting_id: int) -> None:
        try:
            self.sync_sitting(sitting_id)
        except Exception as exc:  # noqa: BLE001 - the change is saved; the index job retries it
            self._retry_later(sitting_id, exc)
            return
        if self._followed():  # the public text changed: as after an index job (pipeline.follow_ups)
            self.runtime.queue.submit(AlertsPayload(sitting_id))

    def segments_added(self, sitting_id: int, segment_ids: list[int]) -> None:
        """Index new segments at once (live segments are searchable within seconds)."""
        wanted = set(segment_ids)
        try:
            with self.runtime.db.session(readonly=True) as s:
                docs = [d for d in sitting_documents(s, get_sitting(s, sitting_id)) if d.segment in wanted]
            self.index.add(docs)
        except Exception as exc:  # noqa: BLE001 - search trouble must not stop the caller
            self._retry_later(sitting_id, exc)
            return
        if self._followed(live=True):
            self.runtime.queue.submit(AlertsPayload(sitting_id, live=True))

    def _followed(self, live: bool = False) -> bool:
        """Whether anyone follows anything (from the live draft): else no alerts job is queued."""
        with self.runtime.db.session(readonly=True) as s:
            return has_subscribers(s, draft=live)

    def _retry_later(self, sitting_id: int, exc: Exception) -> None:
        log.warning("sitting %s: not indexed now (%s); an index job will retry", sitting_id, exc)
        self.runtime.queue.submit(IndexPayload(sitting_id))

    def close(self) -> None:
        if self._owned and self._index is not None:
            self._index.close()
            self._index = None
