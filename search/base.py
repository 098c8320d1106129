"""The one search interface both backends implement, and its value types."""

from __future__ import annotations

import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from cachetools import LRUCache

from sanarip.errors import SanaripError
from search.query import Query, QueryError, cache_key, parse

PAGE_SIZE = 20
MAX_PAGE = 500
RESULT_CACHE_SIZE = 256
SEARCH_BUDGET = 1.0  # seconds one query may run before it is refused (QueryTooExpensive)
SEARCH_CONCURRENCY = 2  # queries one process runs at once: server threads stay free for cheap pages
SLOT_WAIT = 0.25  # seconds a query waits for a slot before SearchBusy
SEARCH_QUEUE = 8  # queries one process lets wait for a slot; more are SearchBusy at once
SEARCH_NICENESS = 10  # searches run on threads this much nicer than the server's: cheap pages get the CPU first
SPEAKER_FACET_SIZE = 50  # the most frequent speakers among the matches
AGENDA_FACET_SIZE = 50  # the most frequent agenda items (by identifier, e.g. a bill number) among the matches
# A rebuild proves it is alive every REBUILD_HEARTBEAT seconds; one silent for REBUILD_STALE_AFTER
# is taken for dead (crashed, killed): writers stop journaling for it and the next rebuild takes over.
REBUILD_HEARTBEAT = 15.0
REBUILD_STALE_AFTER = 600.0
WHOLE_SITTING = -1  # a journal entry's segment when a whole sitting was replaced


class SearchUnavailable(SanaripError):
    """The search engine cannot be reached or answered with an error."""


class SearchBusy(SearchUnavailable):
    """Every search slot of this process stayed taken for a moment: retry in a second."""


class RebuildInProgress(SanaripError):
    """Another process is rebuilding the search index (``sanarip reindex`` runs one at a time)."""


class RebuildAbandoned(SanaripError):
    """This rebuild stalled long enough to be taken for dead, so it must not switch to its index."""


@dataclass(frozen=True)
class RebuildLock:
    """The index-wide rebuild lock, as stored by the backend (a row, a document)."""

    owner: str  # a random id of the rebuild holding it
    target: str  # the backend's name for the index being built
    started: float  # time.time()
    heartbeat: float  # time.time() of the holder's last sign of life
    state: str = "building"  # "switching" while the journal is replayed and the index swapped

    def stale(self, after: float) -> bool:
        return time.time() - self.heartbeat > after

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"started {started}, last active {max(0.0, time.time() - self.heartbeat):.0f} s ago"


@dataclass(frozen=True)
class Document:
    """One transcript segment as the public sees it."""

    segment: int
    sitting: int
    committee: str
    day: str  # ISO date of the sitting
    speaker: str | None
    speaker_id: int | None
    language: str | None
    start: float
    end: float
    text: str
    official: bool
    # The agenda item the segment falls in (by its start on the media timeline), if any: the
    # item's identifier (a bill number: the filter and facet key, shared across the sittings
    # that discuss the bill), its title and its position in the sitting (/s/<id>/item/<n>).
    agenda: str | None = None
    agenda_title: str | None = None
    agenda_position: int | None = None

    @property
    def year(self) -> int:
        return int(self.day[:4])


@dataclass(frozen=True)
class Filters:
    committee: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    speaker: str | None = None
    language: str | None = None
    official_only: bool = False
    agenda: str | None = None  # an agenda item's identifier (a bill number), in any sitting


@dataclass
class Hit:
    sitting: int
    segment: int
    start: float
    end: float
    committee: str
    day: str
    speaker: str | None
    language: str | None
    official: bool
    snippet: str
    marked: list[str]
    score: float | None = None
    agenda: str | None = None
    agenda_title: str | None = None
    agenda_position: int | None = None

    @property
    def link(self) -> str:
        """The sitting page at the hit's second (relative to the site root)."""
        return f"/s/{self.sitting}?t={self.start:.1f}"

    def to_dict(self) -> dict[str, Any]:
        return {"sitting": self.sitting, "segment": self.segment, "start": self.start, "end": self.end,
                "committee": self.committee, "date": self.day, "speaker": self.speaker,
                "language": self.language, "official": self.official, "snippet": self.snippet,
                "link": self.link, "agenda_item": self.agenda_item()}

    def agenda_item(self) -> dict[str, Any] | None:
        """The agenda item the hit falls in: identifier, title, position and its link, or None."""
        if self.agenda is None:
            return None
        link = f"/s/{self.sitting}/item/{self.agenda_position}" if self.agenda_position is not None else None
        return {"identifier": self.agenda, "title": self.agenda_title, "position": self.agenda_position,
                "link": link}


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    page: int = 1
    page_size: int = PAGE_SIZE
    facets_estimated: bool = False  # counts scaled up from a random sample of the matches

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "page": self.page, "pages": self.pages,
                "hits": [h.to_dict() for h in self.hits], "facets": self.facets,
                "facets_estimated": self.facets_estimated}


def _top(counts: Counter[str], size: int | None = None) -> dict[str, int]:
    """Most frequent first; equal counts by key, so that both backends list ties alike."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ranked[:size] if size is not None else ranked)


def facet_counts(committees: Counter[str], speakers: Counter[str], years: Counter[str],
                 languages: Counter[str] | None = None,
                 agenda: Counter[str] | None = None) -> dict[str, dict[str, int]]:
    """The facets as every backend returns them: most frequent first, the top speakers and agenda items only."""
    return {"committee": dict(committees.most_common()), "speaker": dict(speakers.most_common(SPEAKER_FACET_SIZE)),
            "year": dict(years.most_common()), "language": dict((languages or Counter()).most_common()),
            "agenda": _top(agenda or Counter(), AGENDA_FACET_SIZE)}


def grouped_facets(groups: Iterable[tuple[Any, ...]]) -> dict[str, dict[str, int]]:
    """The facets of matches counted in (committee, speaker, year, count, language, agenda) groups."""
    committees: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    years: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    agenda: Counter[str] = Counter()
    for committee, speaker, year, n, language, item in groups:
        committees[committee] += n
        years[str(year)] += n
        if speaker is not None:
            speakers[speaker] += n
        if language is not None:
            languages[language] += n
        if item is not None:
            agenda[item] += n
    return facet_counts(committees, speakers, years, languages, agenda)


def _lower_priority() -> None:
    """Make the calling thread nicer (Linux schedules threads one by one; elsewhere a no-op)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + SEARCH_NICENESS)
    except (AttributeError, OSError):
        pass


class SearchIndex(ABC):
    """Where transcript segments are indexed and searched.

    Backends that can name the index's current generation (``generation``) get a result cache:
    a popular query over a large archive is answered once per change of the index, not once
    per visitor. ``cache_size=0`` turns it off.
    """

    rebuild_heartbeat: float = REBUILD_HEARTBEAT
    rebuild_stale_after: float = REBUILD_STALE_AFTER

    def __init__(self, cache_size: int = RESULT_CACHE_SIZE, budget: float = SEARCH_BUDGET,
                 concurrency: int = SEARCH_CONCURRENCY, queue: int = SEARCH_QUEUE) -> None:
        self.budget = budget  # seconds; past it a query raises QueryTooExpensive
        self.queue = queue
        self._concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0  # a pool made before a fork has no threads in the child
        self._pool_lock = threading.Lock()
        self._results: LRUCache[Hashable, SearchResult] | None = LRUCache(cache_size) if cache_size > 0 else None
        self._results_lock = threading.Lock()  # cachetools caches are not thread-safe

    def generation(self) -> Hashable | None:
        """A value that changes whenever the index changes, or None if the backend cannot tell."""
        return None

    @abstractmethod
    def replace_sitting(self, sitting: int, docs: Iterable[Document]) -> None:
        """Make the sitting's documents exactly ``docs`` (remove the rest)."""

    @abstractmethod
    def add(self, docs: Iterable[Document]) -> None:
        """Add or update documents (live segments as they are committed)."""

    def search(self, query: str, filters: Filters | None = None, page: int = 1, sort: str = "relevance",
               page_size: int = PAGE_SIZE) -> SearchResult:
        """Hits for ``query`` (see search.query); QueryError if malformed."""
        if page < 1 or page > MAX_PAGE:
            raise QueryError(f"page must be between 1 and {MAX_PAGE}")
        if sort not in ("relevance", "date"):
            raise QueryError("sort must be 'relevance' or 'date'")
        parsed, filters = parse(query), filters or Filters()
        generation = self.generation() if self._results is not None else None
        if generation is None:
            return self._bounded(parsed, filters, page, sort, page_size)
        key = (generation, cache_key(parsed), filters, page, sort, page_size)  # spelling variants share it
        with self._results_lock:
            result = self._results.get(key)
        if result is None:  # searched unlocked: a slow query must not hold up cached ones
            result = self._bounded(parsed, filters, page, sort, page_size)
            with self._results_lock:
                self._results[key] = result
        return result

    def _bounded(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        """``_search`` in one of the process's few search slots (cached answers need none).

        At most ``queue`` queries wait for a slot (SLOT_WAIT at most); more are refused at once,
        so that searches hold at most ``concurrency + queue`` server threads (``sanarip serve``
        adds that many to the threads it has for pages). The waiting paces clients that retry at
        once: refused immediately, they would come back hundreds of times a second.
        The query runs where it takes only the CPU that cheap pages leave, instead of an equal
        share of it (``_run``: low-priority threads, or FTS5's low-priority processes).
        """
        if not self._slots.acquire(blocking=False):
            with self._waiting_lock:
                if self._waiting >= self.queue:  # at once: a page's thread is never held for it
                    raise SearchBusy("every search slot is busy; retry in a second")
                self._waiting += 1
            try:
                acquired = self._slots.acquire(timeout=SLOT_WAIT)
            finally:
                with self._waiting_lock:
                    self._waiting -= 1
            if not acquired:
                raise SearchBusy("every search slot is busy; retry in a second")
        try:
            return self._run(parsed, filters, page, sort, page_size)
        finally:
            self._slots.release()

    def _run(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        """``_search`` where it disturbs cheap pages least: here, on the index's low-priority threads."""
        return self._searchers().submit(self._search, parsed, filters, page, sort, page_size).result()

    def _searchers(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self._concurrency, "search", initializer=_lower_priority)
                self._pool_pid = os.getpid()
            return self._pool

    @abstractmethod
    def _search(self, query: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        """The backend's part of ``search``: run a parsed, validated query."""

    # --- rebuilding ------------------------------------------------------------------------
    def rebuild(self, docs: Iterable[Document], total: int | None = None,
                progress: Callable[[int], None] | None = None) -> int:
        """Build a fresh index from ``docs`` beside the serving one and switch to it; returns the count.

        Several processes share one index, so a rebuild runs under a lock stored with the
        index (a row, a document); a second rebuild is refused with RebuildInProgress. The
        holder renews the lock every ``rebuild_heartbeat`` seconds; one silent for
        ``rebuild_stale_after`` is taken for dead, and the next rebuild takes it over and
        drops the dead one's half-built index.

        Writes during the rebuild go on reaching the serving index, so the public sees them
        at once; while the lock is held each writer also journals what it touched (the
        sitting it replaced, the segments it added). Before switching, the rebuild copies the
        journaled sittings and segments from the serving index into the new one, overwriting
        what ``docs`` said of them: ``docs`` may have been read before such a write (or be
        buffered behind it), so the serving index is the newer of the two. Writes before the
        lock existed need no journal: ``docs`` must be a lazy iterator that reads the database
        after this call began, and a writer's change is committed before it writes the index.
        The replay and the swap exclude writers (one SQLite transaction; in Elasticsearch the
        lock's "switching" state, which writers wait out, and a writer re-checks the lock
        after writing and writes again if the rebuild moved on meanwhile).

        If anything fails (``docs`` raising included) the half-built index is dropped, the
        lock released, and the old index keeps serving.
        """
        lock = self._acquire_rebuild()
        count = 0

        def stream() -> Iterator[Document]:
            nonlocal count, lock
            renewed = time.monotonic()
            for d in docs:
                count += 1
                if progress and count % 5000 == 0:
                    progress(count)
                if time.monotonic() - renewed > self.rebuild_heartbeat:
                    lock, renewed = self._renew(lock), time.monotonic()
                yield d

        try:
            self._build(lock, stream())
            lock = self._renew(lock)
            self._switch(lock)
        except BaseException:
            self._discard(lock)
            raise
        if progress:
            progress(count)
        return count

    def _acquire_rebuild(self) -> RebuildLock:
        now = time.time()
        owner = uuid.uuid4().hex
        mine = RebuildLock(owner, self._rebuild_target(owner), now, now)
        for _ in range(5):
            if self._lock_create(mine):
                return mine
            held = self._lock_read()
            if held is None:  # released meanwhile
                continue
            if not held.stale(self.rebuild_stale_after):
                raise RebuildInProgress(
                    f"the search index is already being rebuilt ({held.describe()}); wait for it to finish "
                    f"(a crashed rebuild is taken over after {self.rebuild_stale_after / 60:.0f} min)")
            if self._lock_replace(held, mine):  # a dead rebuild: take over, drop what it left
                self._discard(held)
                return mine
        raise RebuildInProgress("the search index rebuild lock is contended; try again")

    def _renew(self, lock: RebuildLock, state: str | None = None) -> RebuildLock:
        """Prove the rebuild alive (optionally entering ``state``); RebuildAbandoned if it was silent too long.

        A gap of half the staleness limit already counts: writers on other machines judge
        staleness by their own clocks, and one that thought the rebuild dead journaled nothing.
        """
        if time.time() - lock.heartbeat > self.rebuild_stale_after / 2:
            raise RebuildAbandoned(f"the search index rebuild stalled for over {self.rebuild_stale_after / 2:g} s "
                                   "and gave up; run it again")
        fresh = replace(lock, heartbeat=time.time(), state=state or lock.state)
        if not self._lock_replace(lock, fresh):
            raise RebuildAbandoned("the search index rebuild lost its lock to another rebuild and gave up")
        return fresh

    def _running_rebuild(self, lock: RebuildLock | None) -> RebuildLock | None:
        """``lock`` if it belongs to a live rebuild (one writers must journal for), else None."""
        return lock if lock is not None and not lock.stale(self.rebuild_stale_after) else None

    @staticmethod
    def _journal_entries(sitting: int | None = None, docs: Iterable[Document] = ()) -> list[tuple[int, int]]:
        """(sitting, segment) pairs a write touched; ``WHOLE_SITTING`` for a replaced sitting."""
        entries = [(sitting, WHOLE_SITTING)] if sitting is not None else []
        return entries + sorted({(d.sitting, d.segment) for d in docs})

    @abstractmethod
    def _rebuild_target(self, owner: str) -> str:
        """A fresh name for the index a rebuild fills."""

    @abstractmethod
    def _lock_create(self, lock: RebuildLock) -> bool:
        """Store ``lock`` if there is none; False if one exists."""

    @abstractmethod
    def _lock_read(self) -> RebuildLock | None:
        """The stored lock, or None."""

    @abstractmethod
    def _lock_replace(self, expected: RebuildLock, new: RebuildLock) -> bool:
        """Replace the stored lock with ``new`` only if it still equals ``expected`` (atomically)."""

    @abstractmethod
    def _build(self, lock: RebuildLock, docs: Iterable[Document]) -> None:
        """Create ``lock.target`` and fill it with ``docs``."""

    @abstractmethod
    def _switch(self, lock: RebuildLock) -> None:
        """Replay the journal of ``lock.owner`` into the target, make it the serving index, release the lock."""

    @abstractmethod
    def _discard(self, lock: RebuildLock) -> None:
        """Drop ``lock.target`` unless it serves, forget its journal, release the lock if still ``lock.owner``'s."""

    @abstractmethod
    def check(self) -> None:
        """Raise SearchUnavailable if the engine is not reachable."""

    def close(self) -> None:
        """Release connections (a backend's own, then the search threads and theirs)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.shutdown(wait=True)


