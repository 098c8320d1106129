"""The scale-out backend: Elasticsearch 8.x/9.x through the official 8.x Python client.

Documents carry the shared analyzer's stems in ``stem`` (whitespace analyzer), so no
Elasticsearch language analyzer is involved and hits equal FTS5's. The index is versioned
(``<prefix>-segments-v<N>``) behind the alias ``<prefix>-segments``; ``rebuild`` fills a new
version and swaps the alias in one atomic action.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from sanarip.textanalysis import index_text
from search.base import (
    SPEAKER_FACET_SIZE,
    Document,
    Filters,
    Hit,
    SearchIndex,
    SearchResult,
    SearchUnavailable,
    facet_counts,
    grouped_facets,
)
from search.highlight import snippet
from search.query import Atom, Query

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
    },
}


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
            "speaker": {"terms": {"field": "speaker", "size": SPEAKER_FACET_SIZE, "shard_size": FACET_SHARD_SIZE}}}


def _facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The facet counts from ``_facet_aggs``' buckets (committee and year come as "<slug>|<year>")."""
    committees: Counter[str] = Counter()
    years: Counter[str] = Counter()
    for bucket in aggregations["committee_year"]["buckets"]:
        committee, _, year = bucket["key"].rpartition("|")
        committees[committee] += bucket["doc_count"]
        years[year] += bucket["doc_count"]
    speakers = Counter({b["key"]: b["doc_count"] for b in aggregations["speaker"]["buckets"]})
    return facet_counts(committees, speakers, years)


def _source(d: Document) -> dict[str, Any]:
    return {"stem": index_text(d.text), "text": d.text, "segment": d.segment, "sitting": d.sitting,
            "committee": d.committee, "committee_year": f"{d.committee}|{d.year}", "day": d.day, "year": d.year,
            "speaker": d.speaker, "speaker_id": d.speaker_id, "language": d.language, "start": d.start, "end": d.end,
            "official": d.official}


class ElasticIndex(SearchIndex):
    def __init__(self, url: str, user: str = "", password: str = "", ca: str = "", prefix: str = "sanarip",
                 timeout: float = 10.0, exact_facets: int = EXACT_FACETS, facet_sample: int = FACET_SAMPLE) -> None:
        super().__init__(cache_size=0)  # no generation to key on; the engine has its own caches
        from elasticsearch import Elasticsearch

        kwargs: dict[str, Any] = {"request_timeout": timeout, "max_retries": 1, "retry_on_timeout": False}
        if user:
            kwargs["basic_auth"] = (user, password)
        if ca:
            kwargs["ca_certs"] = ca
        self.es = Elasticsearch(url, **kwargs)
        self.alias = f"{prefix}-segments"
        self.exact_facets, self.facet_sample = exact_facets, facet_sample

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

    def _bulk(self, index: str, actions: Iterator[dict[str, Any]], refresh: bool | str = False,
              threads: int = 1) -> int:
        """Send ``actions``; with ``threads`` > 1 the next chunk is prepared while one is indexed."""
        from elasticsearch.helpers import BulkIndexError, bulk, parallel_bulk

        def send() -> int:
            if threads == 1:
                return bulk(self.es, actions, index=index, chunk_size=2000, refresh=refresh)[0]
            return sum(ok for ok, _ in parallel_bulk(self.es, actions, index=index, chunk_size=2000,
                                                     thread_count=threads, queue_size=threads, refresh=refresh))

        try:
            return self._call(send)
        except BulkIndexError as exc:
            raise SearchUnavailable(f"search unavailable: {len(exc.errors)} documents rejected") from None

    def replace_sitting(self, sitting: int, docs: Iterable[Document]) -> None:
        self._ensure()
        docs = list(docs)
        keep = {f"{d.sitting}-{d.segment}" for d in docs}
        existing = self._call(self.es.search, index=self.alias, size=10_000, _source=False,
                              query={"term": {"sitting": sitting}})["hits"]["hits"]
        actions = [{"_op_type": "delete", "_id": h["_id"]} for h in existing if h["_id"] not in keep]
        actions += [{"_id": f"{d.sitting}-{d.segment}", "_source": _source(d)} for d in docs]
        self._bulk(self.alias, iter(actions), refresh="wait_for")

    def add(self, docs: Iterable[Document]) -> None:
        self._ensure()
        self._bulk(self.alias, ({"_id": f"{d.sitting}-{d.segment}", "_source": _source(d)} for d in docs),
                   refresh="wait_for")

    def rebuild(self, docs: Iterable[Document], total: int | None = None, progress=None) -> int:
        new = f"{self.alias}-v{time.time_ns() // 1_000_000}"
        self._call(self.es.indices.create, index=new, settings={**SETTINGS, "refresh_interval": "-1"},
                   mappings=MAPPINGS)
        count = 0

        def actions() -> Iterator[dict[str, Any]]:
            nonlocal count
            for d in docs:
                count += 1
                if progress and count % 5000 == 0:
                    progress(count)
                yield {"_id": f"{d.sitting}-{d.segment}", "_source": _source(d)}

        self._bulk(new, actions(), threads=2)
        self._call(self.es.indices.put_settings, index=new, settings={"refresh_interval": "1s"})
        self._call(self.es.indices.refresh, index=new)
        old = list(self._call(self.es.indices.get_alias, name=self.alias, ignore_unavailable=True).keys()) \
            if self._call(self.es.indices.exists_alias, name=self.alias) else []
        swap = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        swap.append({"add": {"index": new, "alias": self.alias, "is_write_index": True}})
        self._call(self.es.indices.update_aliases, actions=swap)
        for o in old:
            self._call(self.es.indices.delete, index=o)
        if progress:
            progress(count)
        return count

    def _search(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        from elasticsearch import NotFoundError

        order: list[Any] = (["_score"] if sort == "relevance"
                            else [{"day": "desc"}, {"sitting": "desc"}, {"start": "asc"}])
        query = to_es(parsed, filters)
        try:
            found = self._call(self.es.search, index=self.alias, query=query, from_=(page - 1) * page_size,
                               size=page_size, sort=order, track_total_hits=True)["hits"]
        except NotFoundError:  # nothing indexed yet
            return SearchResult(0, [], grouped_facets([]), page, page_size)
        hits = []
        for h in found["hits"]:
            src = h["_source"]
            html, marked = snippet(src["text"], parsed)
            hits.append(Hit(src["sitting"], src["segment"], src["start"], src["end"], src["committee"], src["day"],
                            src.get("speaker"), src.get("language"), src["official"], html, marked,
                            h.get("_score")))
        total = found["total"]["value"]
        if total == len(hits):  # every match is on this page: count them here
            facets = grouped_facets((h["_source"]["committee"], h["_source"].get("speaker"), h["_source"]["year"], 1)
                                    for h in found["hits"])
            return SearchResult(total, hits, facets, page, page_size)
        # A second round trip, knowing how many there are: few enough are counted exactly; of
        # more, a random sample of about ``facet_sample`` is.
        estimated = total > self.exact_facets
        aggs = _facet_aggs()
        if estimated:
            aggs = {"sample": {"random_sampler": {"probability": min(0.5, self.facet_sample / total), "seed": 1},
                               "aggs": aggs}}
        aggregations = self._call(self.es.search, index=self.alias, query=query, size=0, track_total_hits=False,
                                  aggs=aggs)["aggregations"]
        return SearchResult(total, hits, _facets(aggregations["sample"] if estimated else aggregations), page,
                            page_size, estimated)

    def check(self) -> None:
        self._call(self.es.cluster.health, timeout="5s")

    def close(self) -> None:
        self.es.close()
