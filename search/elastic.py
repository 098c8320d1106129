"""The scale-out backend: Elasticsearch 8.x/9.x through the official 8.x Python client.

Documents carry the shared analyzer's stems in ``stem`` (whitespace analyzer), so no
Elasticsearch language analyzer is involved and hits equal FTS5's. The index is versioned
(``<prefix>-segments-v<N>``) behind the alias ``<prefix>-segments``; ``rebuild`` fills a new
version and swaps the alias in one atomic action. The rebuild lock (a document created with
``op_type=create``) and the writers' journal live in the small index ``<prefix>-rebuild``,
outside the alias (see SearchIndex.rebuild).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sanarip.textanalysis import index_text
from search.base import (
    AGENDA_FACET_SIZE,
    SEARCH_BUDGET,
    SEARCH_CONCURRENCY,
    SEARCH_QUEUE,
    SPEAKER_FACET_SIZE,
    WHOLE_SITTING,
    Document,
    Filters,
    Hit,
    RebuildLock,
    SearchIndex,
    SearchResult,
    SearchUnavailable,
    facet_counts,
    grouped_facets,
)
from search.highlight import snippet
from search.query import Atom, Query, QueryTooExpensive

# "whitespace" is a built-in analyzer of the server itself (no analysis module needed).
# ``stem`` is indexed, not stored (the text is); ``committee_year`` ("<slug>|<year>") serves
# the committee and year facets with one aggregation, which over millions of matches costs
# about as much as the query itself.
# A terms aggregation whose shard size exceeds the field's distinct values counts exactly, and
# only then may the node collect it over several index segments at once (a thread each).
FACET_SHARD_SIZE = 10_000
# Facets of a query matching more segments than EXACT_FACETS are estimated from a random
# sample of about FACET_SAMPLE of them (a committee's or a year's count within about 3%):
# counting millions of matches exactly costs several times the query itself.
EXACT_FACETS = 100_000
FACET_SAMPLE = 20_000
SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}
# The agenda item a segment falls in: ``agenda`` (its identifier) filters and facets; the title and
# position only come back with the hit.
AGENDA_FIELDS = {
    "agenda": {"type": "keyword"},
    "agenda_title": {"type": "keyword", "index": False, "doc_values": False},
    "agenda_position": {"type": "integer", "index": False},
}
MAPPINGS = {
    "dynamic": "strict",
    "_source": {"excludes": ["stem"]},
    "properties": {
        "stem": {"type": "text", "analyzer": "whitespace", "index_prefixes": {"min_chars": 2, "max_chars": 5}},
        "text": {"type": "text", "index": False},
        "segment": {"type": "long"},
        "sitting": {"type": "long"},
        "committee": {"type": "keyword"},
        "committee_year": {"type": "keyword", "eager_global_ordinals": True},
        "day": {"type": "date", "format": "yyyy-MM-dd"},
        "year": {"type": "integer"},
        "speaker": {"type": "keyword", "eager_global_ordinals": True},
        "speaker_id": {"type": "long"},
        "language": {"type": "keyword"},
        "start": {"type": "double"},
        "end": {"type": "double"},
        "official": {"type": "boolean"},
        **AGENDA_FIELDS,
    },
}

CONTROL_MAPPINGS = {
    "dynamic": "strict",
    "properties": {"kind": {"type": "keyword"}, "owner": {"type": "keyword"}, "target": {"type": "keyword"},
                   "state": {"type": "keyword"}, "started": {"type": "double"}, "heartbeat": {"type": "double"},
                   "sitting": {"type": "long"}, "segment": {"type": "long"}},
}
LOCK_ID = "lock"
SWITCH_WAIT = 60.0  # how long a writer waits for a rebuild's switch before giving up (the job retries)
DOC_FIELDS = [f.name for f in dataclasses.fields(Document)]


def _es_atom(atom: Atom) -> dict[str, Any]:
    if atom.kind == "prefix":
        return {"prefix": {"stem": {"value": atom.terms[0]}}}
    return {"match_phrase": {"stem": " ".join(atom.terms)}}


def to_es(query: Query, filters: Filters) -> dict[str, Any]:
    """The Elasticsearch bool query for a parsed query and filters."""
    must = [_es_atom(c[0]) if len(c) == 1 else {"bool": {"should": [_es_atom(a) for a in c],
                                                          "minimum_should_match": 1}}
            for c in query.clauses]
    flt: list[dict[str, Any]] = []
    if filters.committee:
        flt.append({"term": {"committee": filters.committee}})
    if filters.speaker:
        flt.append({"term": {"speaker": filters.speaker}})
    if filters.language:
        flt.append({"term": {"language": filters.language}})
    if filters.official_only:
        flt.append({"term": {"official": True}})
    if filters.agenda:
        flt.append({"term": {"agenda": filters.agenda}})
    if filters.date_from or filters.date_to:
        rng = {}
        if filters.date_from:
            rng["gte"] = filters.date_from.isoformat()
        if filters.date_to:
            rng["lte"] = filters.date_to.isoformat()
        flt.append({"range": {"day": rng}})
    return {"bool": {"must": must, "filter": flt, "must_not": [_es_atom(a) for a in query.excluded]}}


def _facet_aggs() -> dict[str, Any]:
    return {"committee_year": {"terms": {"field": "committee_year", "size": FACET_SHARD_SIZE}},
            "speaker": {"terms": {"field": "speaker", "size": SPEAKER_FACET_SIZE, "shard_size": FACET_SHARD_SIZE}},
            "language": {"terms": {"field": "language", "size": 50}},
            "agenda": {"terms": {"field": "agenda", "size": AGENDA_FACET_SIZE, "shard_size": FACET_SHARD_SIZE,
                                 "order": [{"_count": "desc"}, {"_key": "asc"}]}}}


def _facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The facet counts from ``_facet_aggs``' buckets (committee and year come as "<slug>|<year>")."""
    committees: Counter[str] = Counter()
    years: Counter[str] = Counter()
    for bucket in aggregations["committee_year"]["buckets"]:
        committee, _, year = bucket["key"].rpartition("|")
        committees[committee] += bucket["doc_count"]
        years[year] += bucket["doc_count"]
    speakers = Counter({b["key"]: b["doc_count"] for b in aggregations["speaker"]["buckets"]})
    languages = Counter({b["key"]: b["doc_count"] for b in aggregations["language"]["buckets"]})
    agenda = Counter({b["key"]: b["doc_count"] for b in aggregations["agenda"]["buckets"]})
    return facet_counts(committees, speakers, years, languages, agenda)


def _doc_id(d: Document) -> str:
    return f"{d.sitting}-{d.segment}"


def _action(d: Document) -> dict[str, Any]:
    return {"_id": _doc_id(d), "_source": _source(d)}


def _document(source: dict[str, Any]) -> Document:
    """The Document a stored ``_source`` came from (``stem`` is not stored; it is derived)."""
    return Document(**{name: source.get(name) for name in DOC_FIELDS})


def _source(d: Document) -> dict[str, Any]:
    return {"stem": index_text(d.text, d.language), "text": d.text, "segment": d.segment, "sitting": d.sitting,
            "committee": d.committee, "committee_year": f"{d.committee}|{d.year}", "day": d.day, "year": d.year,
            "speaker": d.speaker, "speaker_id": d.speaker_id, "language": d.language, "start": d.start, "end": d.end,
            "official": d.official, "agenda": d.agenda, "agenda_title": d.agenda_title,
            "agenda_position": d.agenda_position}


class ElasticIndex(SearchIndex):
    def __init__(self, url: str, user: str = "", password: str = "", ca: str = "", prefix: str = "sanarip",
                 timeout: float = 10.0, exact_facets: int = EXACT_FACETS, facet_sample: int = FACET_SAMPLE,
                 budget: float = SEARCH_BUDGET, concurrency: int = SEARCH_CONCURRENCY,
                 queue: int = SEARCH_QUEUE) -> None:
        # No generation to key a cache on; the engine has its own caches.
        super().__init__(cache_size=0, budget=budget, concurrency=concurrency, queue=queue)
        from elasticsearch import Elasticsearch

        kwargs: dict[str, Any] = {"request_timeout": timeout, "max_retries": 1, "retry_on_timeout": False}
        if user:
            kwargs["basic_auth"] = (user, password)
        if ca:
            kwargs["ca_certs"] = ca
        self.es = Elasticsearch(url, **kwargs)
        self.alias = f"{prefix}-segments"
        self.control = f"{prefix}-rebuild"  # the rebuild lock and journal, outside the alias
        self.switch_wait = SWITCH_WAIT
        self.exact_facets, self.facet_sample = exact_facets, facet_sample
        self._mapped = False  # whether this process has made sure the serving index maps every field

    def _call(self, fn, *args, **kwargs):
        from elasticsearch import ApiError, TransportError

        try:
            return fn(*args, **kwargs)
        except TransportError as exc:
            raise SearchUnavailable(f"search unavailable: Elasticsearch unreachable ({exc.message})") from None
        except ApiError as exc:
            if exc.meta.status >= 500:
                raise SearchUnavailable(f"search unavailable: Elasticsearch error {exc.meta.status}") from None
            raise

    def _ensure(self) -> None:
        if not self._call(self.es.indices.exists_alias, name=self.alias):
            name = f"{self.alias}-v{time.time_ns() // 1_000_000}"
            self._call(self.es.indices.create, index=name, settings=SETTINGS, mappings=MAPPINGS,
                       aliases={self.alias: {"is_write_index": True}})
        elif not self._mapped:
            # An index made before the agenda fields existed (the mapping is strict): add them,
            # once per process; documents written before lack them until ``sanarip reindex``.
            self._call(self.es.indices.put_mapping, index=self.alias, properties=AGENDA_FIELDS)
        self._mapped = True

    def _bulk(self, index: str, actions: Iterator[dict[str, Any]], refresh: bool | str = False,
              threads: int = 1, ignore: tuple[int, ...] = ()) -> int:
        """Send ``actions``; with ``threads`` > 1 the next chunk is prepared while one is indexed."""
        from elasticsearch.helpers import BulkIndexError, bulk, parallel_bulk

        def send() -> int:
            if threads == 1:
                return bulk(self.es, actions, index=index, chunk_size=2000, refresh=refresh, ignore_status=ignore)[0]
            return sum(ok for ok, _ in parallel_bulk(self.es, actions, index=index, chunk_size=2000,
                                                     thread_count=threads, queue_size=threads, refresh=refresh))

        try:
            return self._call(send)
        except BulkIndexError as exc:
            raise SearchUnavailable(f"search unavailable: {len(exc.errors)} documents rejected") from None

    def _delete_matching(self, index: str, query: dict[str, Any], refresh: bool | str = "wait_for",
                         keep: frozenset[str] = frozenset()) -> int:
        """Delete every document ``query`` matches but those with an id in ``keep``, however
        many (a scroll, then bulk deletes).

        What ``_delete_by_query`` does, which lives in a module a minimal node lacks. Each
        delete is conditional on the version scanned: a document rewritten meanwhile (409) was
        written by a newer write, and is kept; one already gone (404) is fine. ``keep`` is
        applied here, not as an ``ids`` query, which 9.x refuses beyond 10,000 ids.
        """
        from elasticsearch.helpers import scan

        def deletes() -> Iterator[dict[str, Any]]:
            for hit in scan(self.es, index=index, query={"query": query, "_source": False, "seq_no_primary_term": True},
                            size=5000):
                if hit["_id"] not in keep:
                    yield {"_op_type": "delete", "_id": hit["_id"], "if_seq_no": hit["_seq_no"],
                           "if_primary_term": hit["_primary_term"]}

        return self._bulk(index, deletes(), refresh=refresh, ignore=(404, 409))

    def _replace_in(self, index: str, sitting: int, docs: list[Document]) -> None:
        """Make the sitting's documents in ``index`` exactly ``docs``, however many it had.

        The new documents first, then the rest deleted: readers may briefly see both, never a
        sitting with none. ``wait_for`` made every earlier write searchable, so the scan for
        stale documents sees them all.
        """
        if docs:
            self._bulk(index, iter([_action(d) for d in docs]), refresh="wait_for")
        self._delete_matching(index, {"term": {"sitting": sitting}}, keep=frozenset(map(_doc_id, docs)))

    def replace_sitting(self, sitting: int, docs: Iterable[Document]) -> None:
        self._ensure()
        docs = list(docs)
        self._guarded(lambda: self._replace_in(self.alias, sitting, docs), self._journal_entries(sitting))

    def add(self, docs: Iterable[Document]) -> None:
        docs = list(docs)
        if not docs:
            return
        self._ensure()
        self._guarded(lambda: self._bulk(self.alias, iter([_action(d) for d in docs]), refresh="wait_for"),
                      self._journal_entries(docs=docs))

    def _guarded(self, write: Callable[[], None], entries: list[tuple[int, int]]) -> None:
        """Run ``write`` (on the alias) so that a running rebuild does not lose it.

        With a rebuild building: journal ``entries`` first, then write, then look again; if
        the rebuild has since started switching (or finished), it may have replayed the
        journal before this write landed, so write again once it is done. While it switches:
        wait (up to ``switch_wait`` seconds, then SearchUnavailable; the job is retried).
        """
        deadline = time.monotonic() + self.switch_wait
        while True:
            lock = self._running_rebuild(self._lock_read())
            if lock is None:
                write()
                return
            if lock.state == "building":
                self._journal(lock.owner, entries)
                write()
                after = self._lock_read()
                if after is not None and after.owner == lock.owner and after.state == "building":
                    return
            elif time.monotonic() > deadline:
                raise SearchUnavailable("search unavailable: the index is being switched by a rebuild; try again")
            else:
                time.sleep(0.1)

    # --- rebuilding (the protocol is SearchIndex.rebuild's) -------------------------------------
    def _ensure_control(self) -> None:
        from elasticsearch import BadRequestError

        if not self._call(self.es.indices.exists, index=self.control):
            try:
                self._call(self.es.indices.create, index=self.control, settings=SETTINGS, mappings=CONTROL_MAPPINGS)
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise

    def _lock_get(self) -> tuple[RebuildLock, int, int] | None:
        found = self._call(self.es.options(ignore_status=404).get, index=self.control, id=LOCK_ID)
        if not found.get("found"):
            return None
        src = found["_source"]
        lock = RebuildLock(src["owner"], src["target"], src["started"], src["heartbeat"], src["state"])
        return lock, found["_seq_no"], found["_primary_term"]

    def _lock_read(self) -> RebuildLock | None:
        held = self._lock_get()  # a realtime GET: no refresh needed
        return held[0] if held else None

    @staticmethod
    def _lock_source(lock: RebuildLock) -> dict[str, Any]:
        return {"kind": "lock", **dataclasses.asdict(lock)}

    def _rebuild_target(self, owner: str) -> str:
        return f"{self.alias}-v{time.time_ns() // 1_000_000}"

    def _lock_create(self, lock: RebuildLock) -> bool:
        from elasticsearch import ConflictError

        self._ensure_control()
        try:
            self._call(self.es.create, index=self.control, id=LOCK_ID, document=self._lock_source(lock))
        except ConflictError:
            return False
        return True

    def _lock_replace(self, expected: RebuildLock, new: RebuildLock | None) -> bool:
        """Compare-and-swap on the lock document's sequence number (``new=None`` deletes it)."""
        from elasticsearch import ConflictError, NotFoundError

        held = self._lock_get()
        if held is None or held[0] != expected:
            return False
        cas = {"index": self.control, "id": LOCK_ID, "if_seq_no": held[1], "if_primary_term": held[2]}
        try:
            if new is None:
                self._call(self.es.delete, **cas)
            else:
                self._call(self.es.index, document=self._lock_source(new), **cas)
        except (ConflictError, NotFoundError):
            return False
        return True

    def _journal(self, owner: str, entries: list[tuple[int, int]]) -> None:
        self._bulk(self.control, iter([{"_id": f"{owner}:{sitting}:{segment}",
                                        "_source": {"kind": "journal", "owner": owner, "sitting": sitting,
                                                    "segment": segment}} for sitting, segment in entries]))

    def _serving(self) -> list[str]:
        if not self._call(self.es.indices.exists_alias, name=self.alias):
            return []
        return list(self._call(self.es.indices.get_alias, name=self.alias, ignore_unavailable=True).keys())

    def _build(self, lock: RebuildLock, docs: Iterable[Document]) -> None:
        self._call(self.es.indices.create, index=lock.target, settings={**SETTINGS, "refresh_interval": "-1"},
                   mappings=MAPPINGS)
        self._bulk(lock.target, (_action(d) for d in docs), threads=2)
        self._call(self.es.indices.put_settings, index=lock.target, settings={"refresh_interval": "1s"})
        self._call(self.es.indices.refresh, index=lock.target)

    def _switch(self, lock: RebuildLock) -> None:
        from elasticsearch.helpers import scan

        self._renew(lock, "switching")  # from here writers wait
        old = self._serving()
        self._call(self.es.indices.refresh, index=self.control)
        mine = {"bool": {"filter": [{"term": {"kind": "journal"}}, {"term": {"owner": lock.owner}}]}}
        entries = [(h["_source"]["sitting"], h["_source"]["segment"])
                   for h in self._call(lambda: list(scan(self.es, index=self.control, query={"query": mine})))]
        sittings = sorted({sitting for sitting, segment in entries if segment == WHOLE_SITTING})
        if old:
            for sitting in sittings:
                current = self._call(lambda s=sitting: list(scan(self.es, index=old, query={
                    "query": {"term": {"sitting": s}}})))
                self._replace_in(lock.target, sitting, [_document(h["_source"]) for h in current])
            ids = sorted({f"{sitting}-{segment}" for sitting, segment in entries
                          if segment != WHOLE_SITTING and sitting not in sittings})
            if ids:
                found = self._call(self.es.mget, index=old[0], ids=ids)["docs"]
                self._bulk(lock.target, iter([_action(_document(d["_source"])) for d in found if d.get("found")]),
                           refresh="wait_for")
                gone = [d["_id"] for d in found if not d.get("found")]
                if gone:
                    self._delete_matching(lock.target, {"ids": {"values": gone}})
        swap = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        swap.append({"add": {"index": lock.target, "alias": self.alias, "is_write_index": True}})
        self._call(self.es.indices.update_aliases, actions=swap)
        for o in old:
            self._call(self.es.indices.delete, index=o)
        self._forget(lock)

    def _forget(self, lock: RebuildLock) -> None:
        """Delete ``lock.owner``'s journal, then the lock if it is still theirs."""
        self._call(self.es.indices.refresh, index=self.control)
        self._delete_matching(self.control, {"bool": {"filter": [{"term": {"kind": "journal"}},
                                                                 {"term": {"owner": lock.owner}}]}}, refresh=False)
        held = self._lock_read()
        if held is not None and held.owner == lock.owner:
            self._lock_replace(held, None)

    def _discard(self, lock: RebuildLock) -> None:
        if lock.target not in self._serving():
            self._call(self.es.options(ignore_status=404).indices.delete, index=lock.target)
        self._forget(lock)

    def _search(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        from elasticsearch import NotFoundError

        order: list[Any] = (["_score"] if sort == "relevance"
                            else [{"day": "desc"}, {"sitting": "desc"}, {"start": "asc"}])
        query = to_es(parsed, filters)
        try:
            answer = self._call(self.es.search, index=self.alias, query=query, from_=(page - 1) * page_size,
                                size=page_size, sort=order, track_total_hits=True, timeout=self._timeout())
        except NotFoundError:  # nothing indexed yet
            return SearchResult(0, [], grouped_facets([]), page, page_size)
        if answer["timed_out"]:  # the shards stopped at the budget: partial hits would mislead
            raise QueryTooExpensive(self.budget)
        found = answer["hits"]
        hits = []
        for h in found["hits"]:
            src = h["_source"]
            html, marked = snippet(src["text"], parsed, src.get("language"))
            hits.append(Hit(src["sitting"], src["segment"], src["start"], src["end"], src["committee"], src["day"],
                            src.get("speaker"), src.get("language"), src["official"], html, marked,
                            h.get("_score"), src.get("agenda"), src.get("agenda_title"), src.get("agenda_position")))
        total = found["total"]["value"]
        if total == len(hits):  # every match is on this page: count them here
            facets = grouped_facets((h["_source"]["committee"], h["_source"].get("speaker"), h["_source"]["year"], 1,
                                     h["_source"].get("language"), h["_source"].get("agenda"))
                                    for h in found["hits"])
            return SearchResult(total, hits, facets, page, page_size)
        # A second round trip, knowing how many there are: few enough are counted exactly; of
        # more, a random sample of about ``facet_sample`` is.
        estimated = total > self.exact_facets
        aggs = _facet_aggs()
        if estimated:
            aggs = {"sample": {"random_sampler": {"probability": min(0.5, self.facet_sample / total), "seed": 1},
                               "aggs": aggs}}
        answer = self._call(self.es.search, index=self.alias, query=query, size=0, track_total_hits=False,
                            aggs=aggs, timeout=self._timeout())
        if answer["timed_out"]:
            raise QueryTooExpensive(self.budget)
        aggregations = answer["aggregations"]
        return SearchResult(total, hits, _facets(aggregations["sample"] if estimated else aggregations), page,
                            page_size, estimated)

    def _timeout(self) -> str:
        """The search ``timeout`` parameter: the shards stop collecting at the budget (and say so)."""
        return f"{max(1, round(self.budget * 1000))}ms"

    def check(self) -> None:
        self._call(self.es.cluster.health, timeout="5s")

    def close(self) -> None:
        self.es.close()
        super().close()
