"""The long-lived objects one process shares: settings, database, storage and job queue."""

from __future__ import annotations

from functools import cached_property

from sanarip import clock
from sanarip.config import Settings, load_settings
from sanarip.db import Database
from sanarip.jobs import JobQueue
from sanarip.pipeline import Indexer, QueueIndexer
from sanarip.storage import Storage, open_storage


class Runtime:
    """Created once per process by a composition root (CLI, worker, web app)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        clock.configure(self.settings.tz)  # every date people read or filter by is in this zone

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.effective_database_url, self.settings.db_busy_timeout)

    @cached_property
    def storage(self) -> Storage:
        return open_storage(self.settings.effective_storage, self.settings.s3_endpoint)

    @cached_property
    def queue(self) -> JobQueue:
        return JobQueue(self.db, self.settings.job_lease, self.settings.job_max_attempts)

    @cached_property
    def indexer(self) -> Indexer:
        """Where changed sittings are announced to search. A composition root that can reach the
        index sets the search package's indexer; without one, index jobs do the work."""
        return QueueIndexer(self.queue)

    def close(self) -> None:
        close_indexer = getattr(self.__dict__.get("indexer"), "close", None)
        if close_indexer:
            close_indexer()
        if "db" in self.__dict__:
            self.db.dispose()
