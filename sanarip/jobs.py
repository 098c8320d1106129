"""A job queue in the database: enqueue with dedupe, claim under a lease, retry, dead-letter.

Claiming is one ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING``
statement. PostgreSQL skips rows other workers hold; SQLite has no row locks but runs the
statement under its database write lock (``BEGIN IMMEDIATE``), which is just as safe.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from sanarip.db import Database
from sanarip.errors import SanaripError
from sanarip.models import Job, utcnow
from sanarip.pipeline import JobKind, Payload, PayloadError, parse_payload

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobError(SanaripError):
    """A job operation was refused (unknown id, wrong state)."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: JobKind
    args: Payload  # the payload, validated
    attempts: int
    max_attempts: int
    progress: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return self.args.to_dict()


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts``: 2, 4, 8 … capped at 10 minutes."""
    return float(min(600, 2**attempts))


class JobQueue:
    def __init__(self, db: Database, lease_seconds: float = 60.0, max_attempts: int = 5) -> None:
        self.db = db
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts

    def submit(self, payload: Payload, run_after: datetime | None = None) -> int:
        """Queue the job ``payload`` describes under its kind's dedupe key; return its id."""
        return self.enqueue(payload.kind, payload.to_dict(), payload.dedupe_key(), run_after)

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
        run_after: datetime | None = None,
        max_attempts: int | None = None,
    ) -> int:
        """Add a job (its payload validated) and return its id. With ``dedupe_key``, an active job
        with that key is reused; a finished one frees the key for a new job."""
        payload = parse_payload(kind, payload).to_dict()
        with self.db.session() as s:
            if dedupe_key:
                old = s.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
                if old is not None and old.status in ACTIVE:
                    return old.id
                if old is not None:
                    old.dedupe_key = None
                    s.flush()
            job = Job(
                kind=JobKind(kind),
                payload=payload or {},
                dedupe_key=dedupe_key,
                run_after=run_after or utcnow(),
                max_attempts=max_attempts or self.max_attempts,
            )
            s.add(job)
            try:
                s.flush()
            except IntegrityError:  # a concurrent enqueue won the key
                s.rollback()
                return self.enqueue(kind, payload, dedupe_key, run_after, max_attempts)
            return job.id

    def active(self, payload: Payload) -> tuple[int, str, datetime | None] | None:
        """(id, status, lease end) of the queued or running job under ``payload``'s dedupe key, or None."""
        with self.db.session(readonly=True) as s:
            row = s.execute(select(Job.id, Job.status, Job.lease_until).where(
                Job.dedupe_key == payload.dedupe_key(), Job.status.in_(ACTIVE))).first()
        return (row[0], row[1], row[2]) if row else None

    def cancel_for_sitting(self, sitting_id: int) -> int:
        """Cancel every queued or running job of one sitting (it is being deleted); returns how many."""
        with self.db.session() as s:
            jobs = [j for j in s.scalars(select(Job).where(Job.status.in_(ACTIVE)))
                    if (j.payload or {}).get("sitting") == sitting_id]
            for job in jobs:
                job.status, job.finished_at, job.lease_until, job.dedupe_key = JobStatus.CANCELLED, utcnow(), None, None
        return len(jobs)

    def claim(
        self, worker: str, kinds: set[str] | frozenset[str] | None = None, job_id: int | None = None
    ) -> ClaimedJob | None:
        """Take the oldest runnable job (queued and due, or running with an expired lease)."""
        now = utcnow()
        runnable = or_(
            and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
            and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
        )
        pick = select(Job.id).where(runnable)
        if kinds is not None:
            pick = pick.where(Job.kind.in_(sorted(kinds)))
        if job_id is not None:
            pick = pick.where(Job.id == job_id)
        pick = pick.order_by(Job.run_after, Job.id).limit(1).with_for_update(skip_locked=True)
        stmt = (
            update(Job)
            .where(Job.id == pick.scalar_subquery())
            .values(
                status=JobStatus.RUNNING,
                worker=worker,
                lease_until=now + self.lease,
                attempts=Job.attempts + 1,
                updated_at=now,
            )
            .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.progress)
            .execution_options(synchronize_session=False)
        )
        with self.db.session() as s:
            row = s.execute(stmt).first()
            if row is None:
                return None
            job_id, kind, payload, attempts, max_attempts, progress = row
            error = None
            if attempts > max_attempts:  # its worker died too often (lease expired each time)
                error = "lease expired too many times"
            else:
                try:
                    return ClaimedJob(job_id, JobKind(kind), parse_payload(kind, payload), attempts, max_attempts,
                                      progress)
                except (PayloadError, ValueError) as exc:  # written by an older version, or by hand
                    error = f"invalid job: {exc}"
            s.execute(update(Job).where(Job.id == job_id)
                      .values(status=JobStatus.DEAD, error=error, finished_at=now, lease_until=None))
            log.warning("job %s dead-lettered: %s", job_id, error)
            return None

    def running_elsewhere(self, worker: str, kinds: set[str] | frozenset[str] | None = None) -> int:
        """Jobs of ``kinds`` another worker holds (a dead one's come back when its lease expires)."""
        query = select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING,
                                                            or_(Job.worker.is_(None), Job.worker != worker))
        if kinds is not None:
            query = query.where(Job.kind.in_(sorted(kinds)))
        with self.db.session(readonly=True) as s:
            return s.scalar(query) or 0

    def _owned(self, job_id: int, worker: str):
        return update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING)

    def heartbeat(self, job_id: int, worker: str, progress: dict[str, Any] | None = None) -> bool:
        """Extend the lease; False if the job was cancelled or taken over (stop working on it)."""
        values: dict[str, Any] = {"lease_until": utcnow() + self.lease, "updated_at": utcnow()}
        if progress is not None:
            values["progress"] = progress
        with self.db.session() as s:
            return s.execute(self._owned(job_id, worker).values(**values)).rowcount == 1

    def complete(self, job_id: int, worker: str) -> bool:
        with self.db.session() as s:
            done = self._owned(job_id, worker).values(status=JobStatus.DONE, finished_at=utcnow(), lease_until=None)
            return s.execute(done).rowcount == 1

    def fail(self, job_id: int, worker: str, error: str, permanent: bool = False) -> str:
        """Record a failure: retry later with backoff, or dead-letter after the last attempt."""
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.worker != worker or job.status != JobStatus.RUNNING:
                return "lost"
            now = utcnow()
            job.error = error[-4000:]
            job.updated_at = now
            job.lease_until = None
            if permanent or job.attempts >= job.max_attempts:
                job.status, job.finished_at = JobStatus.DEAD, now
            else:
                job.status, job.run_after = JobStatus.QUEUED, now + timedelta(seconds=backoff(job.attempts))
            return job.status

    def release(self, job_id: int, worker: str) -> None:
        """Give a job back unfinished (worker shutting down); it does not count as an attempt."""
        with self.db.session() as s:
            s.execute(
                self._owned(job_id, worker).values(
                    status=JobStatus.QUEUED, lease_until=None, worker=None, run_after=utcnow(),
                    attempts=Job.attempts - 1
                )
            )

    def cancel(self, job_id: int) -> None:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobError(f"no job with id {job_id}")
            if job.status not in ACTIVE:
                raise JobError(f"job {job_id} is {job.status}; only queued or running jobs can be cancelled")
            job.status, job.finished_at, job.lease_until = JobStatus.CANCELLED, utcnow(), None

    def retry(self, job_id: int) -> None:
        """Put a dead, cancelled or failed job back in the queue with a fresh attempt count."""
        with self.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobError(f"no job with id {job_id}")
            if job.status in ACTIVE:
                raise JobError(f"job {job_id} is {job.status} already")
            job.status, job.attempts, job.run_after = JobStatus.QUEUED, 0, utcnow()
            job.error, job.finished_at = None, None

    def recent(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest jobs, as the CLI lists them."""
        if status is not None and status not in set(JobStatus):
            raise JobError(f"unknown job status {status!r}; known: {', '.join(JobStatus)}")
        q = select(Job).order_by(Job.id.desc()).limit(limit)
        if status:
            q = q.where(Job.status == status)
        with self.db.session(readonly=True) as s:
            return [job_dict(j) for j in s.scalars(q)]

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        with self.db.session(readonly=True) as s:
            return dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())


def job_dict(j: Job) -> dict[str, Any]:
    return {"id": j.id, "kind": j.kind, "status": j.status, "attempts": j.attempts, "payload": j.payload,
            "worker": j.worker, "error": j.error, "progress": j.progress, "created_at": j.created_at.isoformat()}


class PermanentFailure(SanaripError):
    """Raised by a handler whose job can never succeed by retrying (bad input): dead-letter it."""


class JobInterrupted(Exception):
    """Raised by a handler that stopped early because its worker is shutting down."""


class JobCancelled(Exception):
    """Raised by a handler that stopped because its job was cancelled or taken over."""


class JobContext:
    """What a job handler gets: the job, the runtime, progress reporting and stop signals."""

    def __init__(self, runtime: Any, queue: JobQueue, job: ClaimedJob, worker: str,
                 stopping: threading.Event) -> None:
        self.runtime = runtime
        self.queue = queue
        self.job = job
        self.worker = worker
        self.stopping = stopping  # threading.Event set on worker shutdown
        self.lost = threading.Event()  # set when the lease could not be extended
        self.progress: dict[str, Any] = dict(job.progress)
        self.on_progress: Any = None  # optional callback(progress) for a foreground progress bar

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    @property
    def args(self) -> Any:
        """The validated payload (the kind's ``Payload`` dataclass)."""
        return self.job.args

    def report(self, **progress: Any) -> None:
        """Save progress with the job (resumable work reads it back from ``self.progress``)."""
        self.progress.update(progress)
        if progress and self.on_progress is not None:
            self.on_progress(self.progress)
        if not self.queue.heartbeat(self.job.id, self.worker, self.progress):
            self.lost.set()

    def should_stop(self) -> bool:
        return self.stopping.is_set() or self.lost.is_set()

    def check(self) -> None:
        """Raise if the handler should stop now."""
        if self.lost.is_set():
            raise JobCancelled(f"job {self.job.id} was cancelled or taken over")
        if self.stopping.is_set():
            raise JobInterrupted(f"job {self.job.id} interrupted by shutdown")
