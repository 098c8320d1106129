"""Request-time access to the app's runtime objects."""

from __future__ import annotations

from flask import current_app

from sanarip.runtime import Runtime
from search import SearchIndex
from search.indexing import SearchIndexer


def runtime() -> Runtime:
    return current_app.extensions["sanarip"]


def search_index() -> SearchIndex:
    """The configured search backend, opened once per app (the one its indexer writes to)."""
    indexer = runtime().indexer
    assert isinstance(indexer, SearchIndexer)
    return indexer.index
