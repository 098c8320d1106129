"""FTS5 queries run in separate, lowest-priority processes (search.processes): never on the web process's lock."""

import os
import pickle

import pytest

from search import SearchUnavailable
from search.processes import NICENESS, run
from search.query import QueryTooExpensive


class Unpicklable(Exception):
    def __reduce__(self):
        raise pickle.PicklingError("not this one")


def raise_unpicklable() -> None:
    raise Unpicklable("boom")


def test_a_call_runs_in_another_process_at_the_lowest_priority():
    assert run(1, os.getpid) != os.getpid()
    assert run(1, os.nice, 0) == NICENESS
    assert run(1, sum, [1, 2, 3]) == 6


def test_idle_processes_are_reused():
    first = run(1, os.getpid)
    assert run(1, os.getpid) == first


def test_an_exception_is_raised_in_the_caller_as_itself():
    with pytest.raises(QueryTooExpensive, match=r"over 0\.5 s"):
        run(1, _too_expensive, 0.5)


def _too_expensive(budget: float) -> None:
    raise QueryTooExpensive(budget)


def test_an_exception_that_does_not_pickle_becomes_search_unavailable():
    with pytest.raises(SearchUnavailable, match="boom"):
        run(1, raise_unpicklable)
    assert run(1, sum, [2, 2]) == 4


def test_a_process_that_dies_is_search_unavailable_and_replaced():
    doomed = run(1, os.getpid)
    with pytest.raises(SearchUnavailable, match="died"):
        run(1, os._exit, 3)
    assert run(1, os.getpid) != doomed
