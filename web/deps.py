"""Request-time access to the app's runtime objects."""

from __future__ import annotations

import threading

from flask import current_app

from sanarip.runtime import Runtime
from search import SearchIndex, open_index

_index_lock = threading.Lock()


def runtime() -> Runtime:
    return current_app.extensions["sanarip"]


def search_index() -> SearchIndex:
    """The configured search backend, opened once per app."""
    ext = current_app.extensions
    if "sanarip.search" not in ext:
        with _index_lock:
            if "sanarip.search" not in ext:
                ext["sanarip.search"] = open_index(runtime().settings)
    return ext["sanarip.search"]
