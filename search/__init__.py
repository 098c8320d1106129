"""Search: one ``SearchIndex`` interface, SQLite FTS5 (embedded) and Elasticsearch backends."""

from __future__ import annotations

from sanarip.config import Settings
from search.base import Document, Filters, Hit, SearchBusy, SearchIndex, SearchResult, SearchUnavailable
from search.query import QueryError, QueryTooExpensive

__all__ = ["Document", "Filters", "Hit", "QueryError", "QueryTooExpensive", "SearchBusy", "SearchIndex",
           "SearchResult", "SearchUnavailable", "open_index"]


def open_index(settings: Settings) -> SearchIndex:
    """The backend the configuration names: ``fts5`` or an Elasticsearch URL (never a silent fallback)."""
    if settings.uses_elasticsearch:
        from search.elastic import ElasticIndex

        return ElasticIndex(settings.search, user=settings.es_user, password=settings.es_password,
                            ca=settings.es_ca, prefix=settings.es_index_prefix, budget=settings.search_budget,
                            concurrency=settings.search_concurrency, queue=settings.search_queue)
    from search.fts5 import Fts5Index

    return Fts5Index(settings.data_dir / "search.db", budget=settings.search_budget,
                     concurrency=settings.search_concurrency, queue=settings.search_queue)
