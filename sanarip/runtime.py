"""The long-lived objects one process shares: settings, database, storage and job queue."""

from __future__ import annotations

from functools import cached_property

from sanarip.config import Settings, load_settings
from sanarip.db import Database
from sanarip.jobs import JobQueue
from sanarip.storage import Storage, open_storage


class Runtime:
    """Created once per process by a composition root (CLI, worker, web app)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.effective_database_url)

    @cached_property
    def storage(self) -> Storage:
        return open_storage(self.settings.effective_storage, self.settings.s3_endpoint)

    @cached_property
    def queue(self) -> JobQueue:
        return JobQueue(self.db, self.settings.job_lease, self.settings.job_max_attempts)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
