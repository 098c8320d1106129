"""The job loop: claim, run, heartbeat, retry, route job kinds, shut down cleanly.

Run as ``sanarip worker`` or ``python worker.py``. Handlers live in the packages; this module
only routes job kinds to them (imported lazily, so a worker that never records never loads
ffmpeg helpers, and one that never transcribes never loads faster-whisper), and when a job is
done asks the core's pipeline what follows it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ingest.orphans import end_orphaned_live
from sanarip.db import is_busy
from sanarip.errors import SanaripError
from sanarip.jobs import ClaimedJob, JobCancelled, JobContext, JobInterrupted, PermanentFailure
from sanarip.pipeline import (
    LONG_KINDS,
    JobKind,
    Payload,
    SleepPayload,
    final_pass_complete,
    next_jobs,
    parse_payload,
)
from sanarip.runtime import Runtime
from sanarip.sittings import final_pass_done, get_sitting
from search.indexing import SearchIndexer

log = logging.getLogger("sanarip.worker")
Handler = Callable[[JobContext], None]
BUSY_RETRIES = 8  # a busy database (SQLite's lock held past the busy timeout) is retried this often
SWEEP_SECONDS = 60.0  # how often a worker looks for live sittings whose recording is gone


def run_sleep_job(ctx: JobContext) -> None:
    """Diagnostic kind: sleep ``seconds`` then append "<job id> <pid>" to the file ``log`` (tests, bench)."""
    args: SleepPayload = ctx.args
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        ctx.check()
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    if args.log:
        with open(args.log, "a", encoding="utf-8") as fh:
            fh.write(f"{ctx.job.id} {os.getpid()}\n")


def handler(kind: JobKind) -> Handler:
    """The stage that runs ``kind``, imported only when a job of that kind runs."""
    match kind:
        case JobKind.RECORD:
            from ingest.recorder import run_record_job as run
        case JobKind.IMPORT:
            from ingest.importer import run_import_job as run
        case JobKind.LIVE:
            from transcribe.live import run_live_job as run
        case JobKind.TRANSCRIBE:
            from transcribe.jobs import run_transcribe_job as run
        case JobKind.DIARIZE:
            from transcribe.speaker_jobs import run_diarize_job as run
        case JobKind.LEARN_VOICE:
            from transcribe.speaker_jobs import run_voice_profile_job as run
        case JobKind.ENROLL_VOICE:
            from transcribe.enrolment import run_enrol_job as run
        case JobKind.INDEX:
            from search.jobs import run_index_job as run
        case JobKind.POSTER:
            from ingest.poster import run_poster_job as run
        case JobKind.CLIP:
            from ingest.clips import run_clip_job as run
        case JobKind.ALERTS:
            from search.alerts import run_alerts_job as run
        case JobKind.MAIL:
            from search.fanout import run_mail_job as run
        case JobKind.SLEEP:
            run = run_sleep_job
    return run


def use_search(runtime: Runtime) -> None:
    """Let the stages of this process write to the search index directly (live segments)."""
    if not isinstance(runtime.__dict__.get("indexer"), SearchIndexer):
        runtime.indexer = SearchIndexer(runtime)


def job_done(runtime: Runtime, job: ClaimedJob) -> list[Payload]:
    """A stage has finished ``job``: queue what the pipeline runs next, and return it."""
    if final_pass_complete(job.args):
        with runtime.db.session() as s:
            final_pass_done(get_sitting(s, job.args.sitting))
    following = next_jobs(job.args)
    for payload in following:
        runtime.queue.submit(payload)
    return following


class Worker:
    """Runs jobs in ``concurrency`` short slots plus ``long_slots`` slots for hours-long kinds."""

    def __init__(
        self,
        runtime: Runtime,
        kinds: set[str] | None = None,
        concurrency: int = 1,
        long_slots: int = 16,
        poll: float = 0.5,
        name: str | None = None,
    ) -> None:
        unknown = {k for k in kinds or () if k not in set(JobKind)}
        if unknown:
            raise ValueError(f"unknown job kind(s): {', '.join(sorted(unknown))}; known: {', '.join(JobKind)}")
        self.runtime = runtime
        use_search(runtime)
        self.queue = runtime.queue
        kinds = {JobKind(k) for k in kinds} if kinds else set(JobKind)
        self.short_kinds = frozenset(kinds - LONG_KINDS)
        self.long_kinds = frozenset(kinds & LONG_KINDS)
        self.concurrency = concurrency
        self.long_slots = long_slots if self.long_kinds else 0
        self.poll = poll
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self._running: dict[int, JobContext] = {}
        self._lock = threading.Lock()

    # Lifecycle ---------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def on_signal(signum, _frame) -> None:
            log.info("worker %s: %s received, finishing current jobs", self.name, signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self, max_jobs: int | None = None, until_idle: bool = False) -> None:
        """Run until stopped (signal), ``max_jobs`` are done, or nothing is left (``until_idle``: no job
        runnable here, none held by another worker, a dead one's included)."""
        self._retrying("migration", self.runtime.db.upgrade)
        self._budget = max_jobs
        self._until_idle = until_idle
        self._sweep()  # a sitting left live by an interrupted recording ends before new work starts
        threads = [threading.Thread(target=self._heartbeats, daemon=True, name="heartbeat"),
                   threading.Thread(target=self._sweeps, daemon=True, name="sweep")]
        if self.short_kinds:
            threads += [self._slot(self.short_kinds, f"short-{i}") for i in range(self.concurrency)]
        threads += [self._slot(self.long_kinds, f"long-{i}") for i in range(self.long_slots)]
        for t in threads:
            t.start()
        log.info("worker %s started: kinds=%s concurrency=%s", self.name, sorted(self.short_kinds | self.long_kinds),
                 self.concurrency)
        for t in threads[2:]:
            t.join()
        self.stopping.set()
        threads[0].join(timeout=2)
        log.info("worker %s stopped", self.name)

    def _slot(self, kinds: frozenset[str], label: str) -> threading.Thread:
        return threading.Thread(target=self._loop, args=(kinds,), name=label, daemon=True)

    def _take_budget(self) -> bool:
        with self._lock:
            if self._budget is None:
                return True
            if self._budget <= 0:
                return False
            self._budget -= 1
            return True

    def _retrying(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args)``, retried with growing pauses while the database is busy (never a crashed slot)."""
        for attempt in range(BUSY_RETRIES):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not is_busy(exc) or attempt == BUSY_RETRIES - 1:
                    raise
                log.warning("worker %s: database busy during %s, retrying", self.name, what)
                self.stopping.wait(min(30.0, self.poll * 2 ** attempt))
        raise AssertionError("unreachable")

    def _idle(self, kinds: frozenset[str]) -> bool:
        """Nothing to do here, nor anything held elsewhere: another worker's job (its worker perhaps
        dead, so that the job comes back when the lease expires) keeps an ``--until-idle`` worker waiting."""
        with self._lock:
            if self._running:
                return False
        return not self._retrying("idle check", self.queue.running_elsewhere, self.name, kinds)

    def _loop(self, kinds: frozenset[str]) -> None:
        while not self.stopping.is_set():
            if not self._take_budget():
                return
            try:
                job = self._retrying("claim", self.queue.claim, self.name, kinds)
            except Exception:
                log.exception("worker %s: cannot claim jobs", self.name)
                job = None
            if job is None:
                with self._lock:
                    if self._budget is not None:
                        self._budget += 1
                if self._until_idle and self._idle(kinds):
                    return
                self.stopping.wait(self.poll)
                continue
            self._execute(job)

    def _sweep(self) -> None:
        try:
            ended = self._retrying("sweep", end_orphaned_live, self.runtime)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            log.exception("worker %s: cannot end orphaned live sittings", self.name)
            return
        if ended:
            log.info("worker %s: ended live sittings nobody recorded: %s", self.name, ended)

    def _sweeps(self) -> None:
        while not self.stopping.wait(SWEEP_SECONDS):
            self._sweep()

    def _heartbeats(self) -> None:
        interval = max(0.5, self.runtime.settings.job_lease / 3)
        while True:
            stopped = self.stopping.wait(interval)
            with self._lock:
                contexts = list(self._running.values())
            if stopped and not contexts:
                return
            for ctx in contexts:
                try:
                    ctx.report()
                except Exception as exc:  # noqa: BLE001 - a busy database: the next beat renews the lease
                    log.warning("worker %s: heartbeat of job %s failed: %s", self.name, ctx.job.id, exc)
            if stopped:
                time.sleep(interval)

    # One job -------------------------------------------------------------------------------
    def _execute(self, job: ClaimedJob) -> None:
        ctx = JobContext(self.runtime, self.queue, job, self.name, self.stopping)
        with self._lock:
            self._running[job.id] = ctx
        started = time.monotonic()
        status, error = "done", None
        try:
            handler(job.kind)(ctx)
            self._retrying("job done", job_done, self.runtime, job)
            if not self._retrying("complete", self.queue.complete, job.id, self.name):
                status = "lost"
        except JobInterrupted:
            self._retrying("release", self.queue.release, job.id, self.name)
            status = "released"
        except JobCancelled:
            status = "cancelled"
        except Exception as exc:  # noqa: BLE001 - any handler error is the job's failure
            error = f"{type(exc).__name__}: {exc}"
            status = self._retrying("fail", self.queue.fail, job.id, self.name, error,
                                    permanent=isinstance(exc, PermanentFailure) and not is_busy(exc))
            log.debug("job %s failed", job.id, exc_info=True)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
        line = {"event": "job", "id": job.id, "kind": job.kind, "status": status, "attempt": job.attempts,
                "seconds": round(time.monotonic() - started, 3), "worker": self.name}
        if error:
            line["error"] = error
        log.info(json.dumps(line, ensure_ascii=False))


def run_inline(runtime: Runtime, kind: str, payload: dict[str, Any],
               on_progress: Callable[[dict], None] | None = None) -> list[Payload]:
    """Run one job in this process, through the queue (so it is leased, resumable and logged).
    Returns the jobs the pipeline queued after it, for a caller that follows the chain.

    Used by CLI commands that work in the foreground; raises the handler's error.
    """
    use_search(runtime)
    queue = runtime.queue
    job_id = queue.submit(parse_payload(kind, payload))
    name = f"{socket.gethostname()}:{os.getpid()}:cli"
    job = queue.claim(name, job_id=job_id)
    if job is None:
        raise SanaripError(f"job {job_id} is already being run by another worker")
    stopping = threading.Event()
    ctx = JobContext(runtime, queue, job, name, stopping)
    ctx.on_progress = on_progress
    beat = threading.Event()

    def heartbeat() -> None:
        while not beat.wait(max(0.5, runtime.settings.job_lease / 3)):
            ctx.report()

    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        handler(job.kind)(ctx)
        queued = job_done(runtime, job)
    except JobInterrupted:
        queue.release(job.id, name)
        raise
    except BaseException as exc:
        queue.fail(job.id, name, f"{type(exc).__name__}: {exc}", permanent=True)
        raise
    finally:
        beat.set()
    queue.complete(job.id, name)
    return queued


def main() -> None:
    """``python worker.py``: all kinds, one short slot; ``sanarip worker --help`` has the options."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    w = Worker(Runtime())
    w.install_signal_handlers()
    w.run()


if __name__ == "__main__":
    main()
