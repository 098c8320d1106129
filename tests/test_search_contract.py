"""One contract, every backend: the same queries give the same hit sets and the same marks."""

from datetime import date

import pytest

from search import Document, Filters, QueryError
from search.query import parse
from tests.services import ES_BUILDS

CORPUS = [
    # segment, sitting, committee, day, speaker, language, start, text, official
    (1, 10, "budget", "2025-03-04", "Асанов", "ru", 12.5, "Депутаты обсудили бюджет на 2026 год.", False),
    (2, 10, "budget", "2025-03-04", "Асанов", "ru", 30.0, "Слово предоставляется депутату Исаковой.", False),
    (3, 10, "budget", "2025-03-04", "Исакова", "ru", 41.2, "Считаю, что депутат должен отчитаться.", False),
    (4, 11, "health", "2024-11-20", "Smith", "en", 5.0, "The committees reviewed the health budget.", True),
    (5, 11, "health", "2024-11-20", "Smith", "en", 9.5, "Each committee member voted.", True),
    (6, 12, "budget", "2026-01-15", "Токтогулов", "ky", 3.0, "Бюджеттик комиссиянын жыйыны башталды.", False),
    (7, 12, "budget", "2026-01-15", "Токтогулов", "ky", 8.0, "Ёлка и елка: налог на ёлки не вводится.", False),
    (8, 12, "budget", "2026-01-15", None, "ru", 15.0, "<script>alert('x')</script> налоговый кодекс & бюджет", False),
    (9, 13, "health", "2026-02-01", "Исакова", "ru", 60.0, "Министр здравоохранения ответил депутатов.", False),
]
# Kyrgyz segments (language "ky": the Kyrgyz stemmer) in a corpus of their own, so the cases above keep their sets.
KYRGYZ = [
    (21, 30, "budget", "2026-03-02", "Токтогулов", "ky", 1.0, "Бюджеттин долбоору каралды.", False),
    (22, 30, "budget", "2026-03-02", "Токтогулов", "ky", 6.0, "Комитеттин төрагасы бюджетке сунуш берди.", False),
    (23, 30, "budget", "2026-03-02", "Асанов", "ky", 11.0, "Бюджеттер жана салыктар жөнүндө мыйзамдар.", False),
    (24, 30, "budget", "2026-03-02", "Асанов", "ru", 16.0, "Бюджет комитета утвержден.", False),
    (25, 30, "budget", "2026-03-02", "Асанов", "ky", 21.0, "Депутаттарыбыз комитетинде жыйында болушту.", False),
]

# The agenda item each segment falls in (identifier, title, position); the same bill in two sittings.
AGENDA = {1: ("Bill 12", "On the budget", 1), 2: ("Bill 12", "On the budget", 1), 3: ("Bill 13", "On reports", 2),
          7: ("Bill 12", "On the budget", 1), 8: ("Bill 12", "On the budget", 1), 9: ("Bill 14", "On health", 1)}

# FTS5, then a node of each Elasticsearch major (the conftest's elasticsearch<major>_url fixtures).
BACKENDS = ["fts5", *(pytest.param(major, id=f"elasticsearch{major}", marks=pytest.mark.elasticsearch)
                      for major in ES_BUILDS)]


def docs(rows=CORPUS, agenda=AGENDA):
    return [Document(segment=s, sitting=st, committee=c, day=d, speaker=sp, speaker_id=None, language=lang,
                     start=t, end=t + 4.0, text=text, official=off, **_item(agenda.get(s)))
            for s, st, c, d, sp, lang, t, text, off in rows]


def _item(item):
    identifier, title, position = item or (None, None, None)
    return {"agenda": identifier, "agenda_title": title, "agenda_position": position}


@pytest.fixture(params=BACKENDS)
def index(request, tmp_path):
    if request.param == "fts5":
        from search.fts5 import Fts5Index

        idx = Fts5Index(tmp_path / "search.db")
    else:
        from search.elastic import ElasticIndex

        idx = ElasticIndex(request.getfixturevalue(f"elasticsearch{request.param}_url"),
                           prefix=f"t{tmp_path.name[-12:].lower()}")
    idx.rebuild(docs())
    yield idx
    idx.close()


def ids(result):
    return {h.segment for h in result.hits}


@pytest.mark.parametrize(("query", "expected"), [
    ("депутат", {1, 2, 3, 9}),                 # stemming: депутаты, депутату, депутатов
    ("ДЕПУТАТЫ", {1, 2, 3, 9}),                # case folding
    ("committees", {4, 5}),                    # English stemming
    ("бюджет депутаты", {1}),                  # all words must match
    ('"депутат должен"', {3}),                 # exact phrase
    ('"должен депутат"', set()),
    ("депутат -исаковой", {1, 3, 9}),          # exclusion
    ("бюджет OR здравоохранения", {1, 8, 9}),  # OR
    ("налог*", {7, 8}),                        # prefix on the unstemmed word
    ("бюджетт*", {6}),                         # Kyrgyz: case-folded, prefix-searchable
    ("жыйыны", {6}),
    ("елка", {7}),                             # ё = е
    ("ёлки", {7}),
    ("script", {8}),
    ("несуществующее", set()),
])
def test_hit_sets(index, query, expected):
    result = index.search(query, page_size=50)
    assert ids(result) == expected
    assert result.total == len(expected)


@pytest.mark.parametrize(("query", "expected"), [
    ("бюджет", {21, 22, 23, 24}),               # Kyrgyz genitive, dative, plural; the Russian word itself
    ("бюджетке", {21, 22, 23, 24}),             # a Kyrgyz query word: its Kyrgyz reading finds them all
    ("бюджеттин", {21, 22, 23, 24}),
    ("бюджеттер", {21, 22, 23, 24}),
    ("комитет", {22, 24, 25}),                  # комитеттин, комитетинде; the Russian комитета
    ("комитеттин", {22, 24, 25}),
    ("депутат", {25}),                          # plural + 1st-person-plural possessive
    ("мыйзам", {23}),
    ("жыйын", {25}),                            # жыйында: locative after a stem ending in н
    ('"бюджеттин долбоору"', {21}),             # phrases in Kyrgyz
    ("бюджет*", {21, 22, 23, 24}),
])
def test_kyrgyz_words_find_their_forms(kyrgyz_index, query, expected):
    result = kyrgyz_index.search(query, page_size=50)
    assert ids(result) == expected


@pytest.fixture(params=BACKENDS)
def kyrgyz_index(request, tmp_path):
    if request.param == "fts5":
        from search.fts5 import Fts5Index

        idx = Fts5Index(tmp_path / "search.db")
    else:
        from search.elastic import ElasticIndex

        idx = ElasticIndex(request.getfixturevalue(f"elasticsearch{request.param}_url"),
                           prefix=f"k{tmp_path.name[-12:].lower()}")
    idx.rebuild(docs(KYRGYZ))
    yield idx
    idx.close()


def test_kyrgyz_marks_and_language_facet(kyrgyz_index):
    result = kyrgyz_index.search("бюджетке", page_size=50)
    marked = {h.segment: h.marked for h in result.hits}
    assert marked == {21: ["Бюджеттин"], 22: ["бюджетке"], 23: ["Бюджеттер"], 24: ["Бюджет"]}
    assert result.facets["language"] == {"ky": 3, "ru": 1}
    assert ids(kyrgyz_index.search("бюджет", Filters(language="ky"))) == {21, 22, 23}


def test_marks_are_the_original_words(index):
    result = index.search("депутат", page_size=50)
    marked = {h.segment: h.marked for h in result.hits}
    assert marked[1] == ["Депутаты"] and marked[2] == ["депутату"] and marked[9] == ["депутатов"]
    hit = next(h for h in result.hits if h.segment == 1)
    assert "<mark>Депутаты</mark>" in hit.snippet
    phrase = index.search('"депутат должен"').hits[0]
    assert phrase.marked == ["депутат", "должен"]
    prefix = {h.segment: h.marked for h in index.search("налог*").hits}
    assert prefix == {7: ["налог"], 8: ["налоговый"]}


def test_snippets_escape_everything_but_marks(index):
    hit = index.search("налоговый").hits[0]
    assert "<script>" not in hit.snippet and "&lt;script&gt;" in hit.snippet
    assert "&amp;" in hit.snippet and "<mark>налоговый</mark>" in hit.snippet


def test_hits_carry_the_moment(index):
    hit = index.search('"депутат должен"').hits[0]
    assert (hit.sitting, hit.segment, hit.start, hit.end, hit.speaker) == (10, 3, 41.2, 45.2, "Исакова")
    assert hit.to_dict()["link"] == "/s/10?t=41.2"


def test_filters_and_facets(index):
    assert ids(index.search("депутат", Filters(committee="health"))) == {9}
    assert ids(index.search("депутат", Filters(speaker="Исакова"))) == {3, 9}
    assert ids(index.search("бюджет", Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31)))) == {1}
    assert ids(index.search("budget", Filters(official_only=True))) == {4}
    assert ids(index.search("бюджет", Filters(language="ru"))) == {1, 8}
    facets = index.search("депутат").facets
    assert facets["committee"] == {"budget": 3, "health": 1}
    assert facets["year"] == {"2025": 3, "2026": 1}
    assert facets["speaker"] == {"Исакова": 2, "Асанов": 2}


@pytest.mark.elasticsearch
def test_elasticsearch_counts_facets_exactly_or_estimates_them_for_many_matches(elasticsearch_url, tmp_path):
    from search.elastic import ElasticIndex

    rows = [(n, 100 + n // 50, "budget" if n % 4 else "health", f"{2024 + n % 2}-05-0{1 + n % 5}", f"S{n % 3}",
             "ru", float(n), f"Депутат номер {n} говорит о бюджете.", False) for n in range(1, 801)]
    idx = ElasticIndex(elasticsearch_url, prefix=f"e{tmp_path.name[-12:].lower()}", exact_facets=200,
                       facet_sample=400)
    try:
        assert idx.search("депутат").total == 0  # nothing indexed yet: no hits, not an error
        idx.rebuild(docs(rows, agenda={}))
        few = idx.search('"номер 7"')  # every match on the first page: counted from it
        assert not few.facets_estimated and few.facets == {"committee": {"budget": 1}, "speaker": {"S1": 1},
                                                           "year": {"2025": 1}, "language": {"ru": 1}, "agenda": {}}
        some = idx.search("депутат", Filters(committee="health"))  # 200 matches: counted exactly
        assert not some.facets_estimated and some.total == 200
        assert some.facets == {"committee": {"health": 200}, "speaker": {"S1": 67, "S2": 67, "S0": 66},
                               "year": {"2024": 200}, "language": {"ru": 200}, "agenda": {}}
        many = idx.search("депутат")
        assert many.total == 800 and len(many.hits) == 20  # totals and hits stay exact
        assert many.facets_estimated and many.to_dict()["facets_estimated"] is True
        assert set(many.facets["committee"]) == {"budget", "health"}
        assert 600 * 0.7 < many.facets["committee"]["budget"] < 600 * 1.3
        assert 200 * 0.6 < many.facets["committee"]["health"] < 200 * 1.4
        assert set(many.facets["year"]) == {"2024", "2025"} and set(many.facets["speaker"]) == {"S0", "S1", "S2"}
    finally:
        idx.close()


# --- agenda items: the filter, the facet, the item on each hit ------------------------------------
def test_agenda_filter_spans_the_sittings_of_a_bill(index):
    assert ids(index.search("бюджет", Filters(agenda="Bill 12"))) == {1, 8}  # sittings 10 and 12
    assert ids(index.search("депутат", Filters(agenda="Bill 12"))) == {1, 2}
    assert ids(index.search("депутат", Filters(agenda="Bill 13"))) == {3}
    assert ids(index.search("депутат", Filters(agenda="Bill 12", speaker="Исакова"))) == set()
    assert ids(index.search("депутат", Filters(agenda="bill 12"))) == set()  # an identifier is matched exactly
    assert ids(index.search("депутат", Filters(agenda="Bill 99"))) == set()
    assert index.search("депутат", Filters(agenda="Bill 99")).total == 0


def test_agenda_facet_counts_the_matches_per_item(index):
    facets = index.search("депутат").facets
    assert facets["agenda"] == {"Bill 12": 2, "Bill 13": 1, "Bill 14": 1}
    assert list(facets["agenda"]) == ["Bill 12", "Bill 13", "Bill 14"]  # most first, ties by identifier
    assert index.search("бюджет").facets["agenda"] == {"Bill 12": 2}  # segment 6 is before the first item
    assert index.search("committees").facets["agenda"] == {}  # sitting 11 has no agenda
    narrowed = index.search("депутат", Filters(agenda="Bill 12")).facets
    assert narrowed["agenda"] == {"Bill 12": 2} and narrowed["speaker"] == {"Асанов": 2}


def test_hits_carry_their_agenda_item(index):
    hit = index.search('"депутат должен"').hits[0]
    assert hit.to_dict()["agenda_item"] == {"identifier": "Bill 13", "title": "On reports", "position": 2,
                                            "link": "/s/10/item/2"}
    hits = {h.segment: h.to_dict()["agenda_item"] for h in index.search("бюджет OR жыйыны", page_size=50).hits}
    assert hits[6] is None and hits[8]["link"] == "/s/12/item/1" and hits[8]["title"] == "On the budget"


def test_a_reindexed_sitting_takes_its_new_agenda(index):
    """What an agenda import or edit does through the indexer: the sitting's documents replaced."""
    index.replace_sitting(10, [d for d in docs(agenda={1: ("Bill 15", "On loans", 1), 2: ("Bill 15", "On loans", 1),
                                                       3: ("Bill 15", "On loans", 1)}) if d.sitting == 10])
    assert index.search("депутат").facets["agenda"] == {"Bill 15": 3, "Bill 14": 1}
    assert ids(index.search("депутат", Filters(agenda="Bill 12"))) == set()
    assert ids(index.search("бюджет", Filters(agenda="Bill 12"))) == {8}
    index.add(docs([(20, 14, "budget", "2026-05-05", None, "ru", 1.0, "Депутат о кредитах.", False)],
                   agenda={20: ("Bill 15", "On loans", 3)}))
    assert ids(index.search("депутат", Filters(agenda="Bill 15"))) == {1, 2, 3, 20}


def test_sort_by_date_and_pagination(index):
    by_date = index.search("депутат", sort="date", page_size=50)
    assert [h.segment for h in by_date.hits] == [9, 1, 2, 3]
    pages = [ids(index.search("депутат", page=p, page_size=3)) for p in (1, 2)]
    assert len(pages[0]) == 3 and len(pages[1]) == 1 and pages[0] | pages[1] == {1, 2, 3, 9}
    assert index.search("депутат", page=2, page_size=3).pages == 2


def test_replace_sitting_and_add(index):
    index.replace_sitting(10, docs([(1, 10, "budget", "2025-03-04", "Асанов", "ru", 12.5, "Новый текст о налогах.",
                                     True)]))
    assert ids(index.search("депутат")) == {9}
    assert ids(index.search("налог")) == {1, 7}
    index.add(docs([(20, 14, "budget", "2026-05-05", None, "ru", 1.0, "Живой сегмент про налоги.", False)]))
    assert ids(index.search("налог")) == {1, 7, 20}


def test_cached_results_follow_writes_from_another_connection(tmp_path):
    from search.fts5 import Fts5Index

    web, worker = Fts5Index(tmp_path / "search.db"), Fts5Index(tmp_path / "search.db")
    worker.rebuild(docs())
    first = web.search("налог")
    assert web.search("налог") is first  # a repeated query is answered from the cache
    worker.add(docs([(20, 14, "budget", "2026-05-05", None, "ru", 1.0, "Живой сегмент про налоги.", False)]))
    assert ids(web.search("налог")) == {7, 20}
    worker.replace_sitting(14, [])
    assert ids(web.search("налог")) == {7}
    web.close()
    worker.close()


def test_processes_opening_a_new_index_together_share_one_schema(tmp_path):
    """Two server processes start on a fresh index: neither drops the tables the other just made."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from search.fts5 import Fts5Index

    openers = 4
    for attempt in range(10):
        path, start = tmp_path / f"search{attempt}.db", Barrier(openers)

        def open_index(_: int, path=path, start=start) -> Fts5Index:
            start.wait()  # each with its own connection, at the same moment
            return Fts5Index(path)

        with ThreadPoolExecutor(openers) as pool:
            indexes = list(pool.map(open_index, range(openers)))
        indexes[0].add(docs([CORPUS[0]]))
        for idx in indexes:
            idx.check()
            assert ids(idx.search("бюджет")) == {1}
            idx.close()


@pytest.mark.parametrize("bad", ['"unbalanced', "-", "-депутат", "OR бюджет", "бюджет OR", "a*b*", "*", "   ",
                                 "x" * 600])
def test_malformed_queries_raise_clear_errors(index, bad):
    with pytest.raises(QueryError) as err:
        index.search(bad)
    assert str(err.value) and "\n" not in str(err.value)


def test_parser_keeps_terms_analyzed():
    q = parse('Депутаты "налоговый кодекс" бюдж* -ёлка')
    # each clause: the Russian/English reading, then the Kyrgyz one where it differs (OR-ed)
    assert [[a.terms for a in clause] for clause in q.clauses] == [
        [("депутат",)], [("налогов", "кодекс"), ("налоговый", "кодекс")], [("бюдж",)]]
    assert q.excluded[0].terms == ("елк",)


# --- rebuilding under the lock, writes during a rebuild, large sittings ---------------------------
@pytest.fixture(params=BACKENDS)
def connect(request, tmp_path):
    """Opens another connection to one and the same index, as another process would."""
    opened = []

    def connect():
        if request.param == "fts5":
            from search.fts5 import Fts5Index

            idx = Fts5Index(tmp_path / "search.db")
        else:
            from search.elastic import ElasticIndex

            idx = ElasticIndex(request.getfixturevalue(f"elasticsearch{request.param}_url"),
                               prefix=f"r{tmp_path.name[-12:].lower()}")
        opened.append(idx)
        return idx

    connect.backend = "fts5" if request.param == "fts5" else "elasticsearch"
    yield connect
    for idx in opened:
        idx.close()


def build_leftovers(idx) -> list[str]:
    """Half-built indexes: Elasticsearch versions outside the alias, FTS5 rebuild tables."""
    if hasattr(idx, "es"):
        versions = idx.es.indices.get(index=f"{idx.alias}-v*")
        return sorted(set(versions) - set(idx.es.indices.get_alias(name=idx.alias)))
    tables = idx._conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return [name for (name,) in tables if name.startswith("doc_b")]


def test_a_second_rebuild_is_refused_while_one_runs(connect):
    from search.base import RebuildInProgress

    first, second = connect(), connect()
    refused: list[Exception] = []

    def stream():
        for i, d in enumerate(docs()):
            if i == 4:
                try:
                    second.rebuild(docs())
                except RebuildInProgress as exc:
                    refused.append(exc)
            yield d

    assert first.rebuild(stream()) == len(CORPUS)
    assert len(refused) == 1 and "already being rebuilt" in str(refused[0]) and "\n" not in str(refused[0])
    assert second.rebuild(docs()) == len(CORPUS)  # released when done
    assert ids(second.search("депутат")) == {1, 2, 3, 9}


def test_writes_during_a_rebuild_reach_the_new_index(connect):
    """The rebuild streams sittings 10..13 as they were; a worker changes 10, 12 and 13 midway."""
    rebuilder, worker = connect(), connect()
    rebuilder.rebuild(docs())
    seen_during: list[set[int]] = []

    def stream():
        stale = docs()
        yield from (d for d in stale if d.sitting == 10)
        worker.replace_sitting(12, docs([(6, 12, "budget", "2026-01-15", "Токтогулов", "ky", 3.0,
                                          "Свежий протокол заседания.", False)]))  # 7 and 8 removed
        worker.replace_sitting(10, docs([(1, 10, "budget", "2025-03-04", "Асанов", "ru", 12.5,
                                          "Свежая повестка.", False)]))  # already streamed
        worker.add(docs([(30, 13, "health", "2026-02-01", None, "ru", 70.0, "Свежий живой сегмент.", False)]))
        seen_during.append(ids(worker.search("свеж*")))  # the serving index has them at once
        yield from (d for d in stale if d.sitting != 10)  # 12 and 13 as they were before the writes

    assert rebuilder.rebuild(stream()) == len(CORPUS)
    assert seen_during == [{1, 6, 30}]
    assert ids(rebuilder.search("свеж*", page_size=50)) == {1, 6, 30}
    assert ids(rebuilder.search("налог*")) == set()  # 7 and 8 stay deleted, though the stream had them
    assert ids(rebuilder.search("депутат", page_size=50)) == {9}  # 2 and 3 went with the replace of 10
    assert ids(rebuilder.search("министр")) == {9}  # the rest of 13 as streamed
    assert build_leftovers(rebuilder) == []


def test_a_failed_rebuild_leaves_the_old_index_serving(connect):
    idx = connect()
    idx.rebuild(docs())

    def broken():
        yield from docs()[:5]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        idx.rebuild(broken())
    assert ids(idx.search("депутат")) == {1, 2, 3, 9}
    assert build_leftovers(idx) == []
    idx.add(docs([(20, 14, "budget", "2026-05-05", None, "ru", 1.0, "Живой сегмент про налоги.", False)]))
    assert ids(idx.search("налог")) == {7, 20}
    assert idx.rebuild(docs()) == len(CORPUS)  # the lock was released


CRASHING_REBUILD = """
import sys, time
from search.base import Document
if sys.argv[1] == "fts5":
    from search.fts5 import Fts5Index
    idx = Fts5Index(sys.argv[2])
else:
    from search.elastic import ElasticIndex
    idx = ElasticIndex(sys.argv[2], prefix=sys.argv[3])
def stream():
    for n in range(5000):
        yield Document(n + 1000, 99, "budget", "2026-01-01", None, None, "ru", 0.0, 1.0, f"Сегмент {n}", False)
    print("building", flush=True)
    time.sleep(120)
idx.rebuild(stream())
"""


def test_a_crashed_rebuild_is_taken_over_once_stale(connect, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from search.base import RebuildInProgress

    idx = connect()
    idx.rebuild(docs())
    where = [str(tmp_path / "search.db")] if connect.backend == "fts5" else [
        idx.es.transport.node_pool.get().base_url, idx.alias.removesuffix("-segments")]
    child = subprocess.Popen([sys.executable, "-c", CRASHING_REBUILD, connect.backend, *where],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "building"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert build_leftovers(idx)  # the dead rebuild's half-built index
    with pytest.raises(RebuildInProgress, match="already being rebuilt"):
        idx.rebuild(docs())
    idx.rebuild_stale_after = 5.0  # instead of minutes; long enough for this rebuild itself to stay fresh
    while not idx._lock_read().stale(idx.rebuild_stale_after):
        time.sleep(0.2)
    assert idx.rebuild(docs()) == len(CORPUS)
    assert build_leftovers(idx) == []
    assert ids(idx.search("депутат")) == {1, 2, 3, 9} and idx.search("сегмент").total == 0


def test_replace_sitting_with_over_10000_segments(connect):
    idx = connect()
    idx.rebuild(docs())
    big = [Document(segment=100_000 + n, sitting=50, committee="budget", day="2026-03-01", speaker=None,
                    speaker_id=None, language="ru", start=float(n), end=n + 1.0, text=f"Старая строка {n}.",
                    official=False) for n in range(10_500)]
    idx.replace_sitting(50, big)
    assert idx.search("старая").total == 10_500
    fresh = [Document(segment=200_000 + n, sitting=50, committee="budget", day="2026-03-01", speaker=None,
                      speaker_id=None, language="ru", start=float(n), end=n + 1.0, text=f"Новая строка {n}.",
                      official=False) for n in range(30)]
    idx.replace_sitting(50, big[:10] + fresh)
    assert idx.search("старая").total == 10
    assert idx.search("новая").total == 30
    assert ids(idx.search("депутат")) == {1, 2, 3, 9}  # other sittings untouched
    idx.replace_sitting(50, [])
    assert idx.search("строка").total == 0


def test_an_index_from_before_agenda_items_gains_them(connect, tmp_path):
    """An index written before segments carried agenda items keeps serving, and takes them from the
    next write (FTS5: columns added to a version-3 index; Elasticsearch: the fields added to the mapping)."""
    import sqlite3

    from sanarip.textanalysis import index_text
    from search import elastic, fts5

    first = connect()
    if connect.backend == "fts5":
        first.close()
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"search.db{suffix}").unlink(missing_ok=True)
        old = sqlite3.connect(tmp_path / "search.db")
        old.executescript(fts5.SCHEMA.replace(", agenda TEXT, agenda_title TEXT, agenda_position INTEGER", "")
                          .replace(f"user_version = {fts5.SCHEMA_VERSION}", "user_version = 3"))
        old.execute("INSERT INTO doc VALUES (9, 13, 'health', '2026-02-01', 2026, NULL, NULL, 'ru', 1.0, 2.0, 0)")
        old.execute("INSERT INTO doc_text VALUES (9, 'Старый министр.')")
        old.execute("INSERT INTO seg(rowid, stem) VALUES (9, ?)", (index_text("Старый министр.", "ru"),))
        old.commit()
        old.close()
    else:
        legacy = {**elastic.MAPPINGS, "properties": {k: v for k, v in elastic.MAPPINGS["properties"].items()
                                                     if k not in elastic.AGENDA_FIELDS}}
        first.es.indices.create(index=f"{first.alias}-v1", settings=elastic.SETTINGS, mappings=legacy,
                                aliases={first.alias: {"is_write_index": True}})
    idx = connect()
    assert ids(idx.search("министр")) == ({9} if connect.backend == "fts5" else set())
    idx.add(docs())
    assert ids(idx.search("министр", Filters(agenda="Bill 14"))) == {9}
    assert idx.search("депутат").facets["agenda"] == {"Bill 12": 2, "Bill 13": 1, "Bill 14": 1}
    assert idx.rebuild(docs()) == len(CORPUS)  # a rebuild after the upgrade keeps them
    assert ids(idx.search("депутат", Filters(agenda="Bill 12"))) == {1, 2}
