"""The one search interface both backends implement, and its value types."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cachetools import LRUCache

from sanarip.errors import SanaripError
from search.query import Query, QueryError, parse

PAGE_SIZE = 20
MAX_PAGE = 500
RESULT_CACHE_SIZE = 256
SPEAKER_FACET_SIZE = 50  # the most frequent speakers among the matches


class SearchUnavailable(SanaripError):
    """The search engine cannot be reached or answered with an error."""


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

    @property
    def link(self) -> str:
        """The sitting page at the hit's second (relative to the site root)."""
        return f"/s/{self.sitting}?t={self.start:.1f}"

    def to_dict(self) -> dict[str, Any]:
        return {"sitting": self.sitting, "segment": self.segment, "start": self.start, "end": self.end,
                "committee": self.committee, "date": self.day, "speaker": self.speaker,
                "language": self.language, "official": self.official, "snippet": self.snippet,
                "link": self.link}


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


def facet_counts(committees: Counter[str], speakers: Counter[str], years: Counter[str]) -> dict[str, dict[str, int]]:
    """The facets as every backend returns them: most frequent first, the top speakers only."""
    return {"committee": dict(committees.most_common()), "speaker": dict(speakers.most_common(SPEAKER_FACET_SIZE)),
            "year": dict(years.most_common())}


def grouped_facets(groups: Iterable[tuple[str, str | None, int, int]]) -> dict[str, dict[str, int]]:
    """The facets of matches counted in (committee, speaker, year, count) groups."""
    committees: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    years: Counter[str] = Counter()
    for committee, speaker, year, n in groups:
        committees[committee] += n
        years[str(year)] += n
        if speaker is not None:
            speakers[speaker] += n
    return facet_counts(committees, speakers, years)


class SearchIndex(ABC):
    """Where transcript segments are indexed and searched.

    Backends that can name the index's current generation (``generation``) get a result cache:
    a popular query over a large archive is answered once per change of the index, not once
    per visitor. ``cache_size=0`` turns it off.
    """

    def __init__(self, cache_size: int = RESULT_CACHE_SIZE) -> None:
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
            return self._search(parsed, filters, page, sort, page_size)
        key = (generation, query, filters, page, sort, page_size)
        with self._results_lock:
            result = self._results.get(key)
        if result is None:  # searched unlocked: a slow query must not hold up cached ones
            result = self._search(parsed, filters, page, sort, page_size)
            with self._results_lock:
                self._results[key] = result
        return result

    @abstractmethod
    def _search(self, query: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        """The backend's part of ``search``: run a parsed, validated query."""

    @abstractmethod
    def rebuild(self, docs: Iterable[Document], total: int | None = None, progress=None) -> int:
        """Build a fresh index from ``docs`` and switch to it; returns the count."""

    @abstractmethod
    def check(self) -> None:
        """Raise SearchUnavailable if the engine is not reachable."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""


