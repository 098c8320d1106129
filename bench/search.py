"""Search figures on synthetic corpora, each held against the bare engine in the same run.

Corpora: N sitting-hours of ~300 segments of ~30 words (Zipf vocabulary in Russian, Kyrgyz
and English), spread over committees, speakers and ten years of dates.

FTS5: product bulk indexing (analyzer + doc table + FTS5) vs bare ``executemany`` into a
plain FTS5 table; product search (query parsing, filters, facets, snippets, first page of
20) vs bare ``SELECT … MATCH ? ORDER BY rank LIMIT 20`` plus ``count(*)``; index size per
sitting-hour. Elasticsearch (``--es URL``, or ``--es-launch`` to start the test node): the
same against a bare index with the standard analyzer and a bare ``match`` query, size 20,
timed once the node's merges have settled and its compiled code and caches are warm (untimed
passes of the mix), over several passes pooled, with the node's request cache cleared before
every product query.

    python bench/search.py --hours 1000 10000 [--es-launch]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from search.base import Document, Filters  # noqa: E402
from search.elastic import EXACT_FACETS, ElasticIndex  # noqa: E402
from search.fts5 import Fts5Index  # noqa: E402

SEGMENTS_PER_HOUR = 300
WORDS_PER_SEGMENT = 30
COMMITTEES = [f"committee-{i}" for i in range(12)]
SPEAKERS = [f"Депутат {i}" for i in range(200)]
COMMON = {
    "ru": ["бюджет", "депутаты", "комитет", "закон", "налоговый", "заседание", "министерство", "образования",
           "здравоохранения", "финансов", "предложение", "голосование", "республики", "кодекс", "поправки"],
    "ky": ["бюджеттик", "депутаттар", "комитеттин", "мыйзам", "салык", "жыйын", "министрлиги", "билим",
           "саламаттыкты", "каржы", "сунуш", "добуш", "республиканын", "кодекси", "өзгөртүүлөр"],
    "en": ["budget", "committees", "law", "tax", "sitting", "ministry", "education", "health", "finance",
           "proposal", "vote", "republic", "code", "amendments", "parliament"],
}
SYLLABLES = {
    "ru": "ба ве ги до жу за ки ло ми на по ре си то ус фа хо це чи ша ще ы эр юн я ст ль нн ов ен ия".split(),
    "ky": "ба бе кы ко мө нү ор өз сү тү уй ча шы ың ңа дө гү ка жа ат ыр ук ым ош ле".split(),
    "en": "ba be co de fi ga ho in jo ka le mo ne or pa qu re st ti un ve wo xe ya ze th ng er".split(),
}


def vocabulary(rng: random.Random, size: int = 20000) -> dict[str, list[str]]:
    vocab = {}
    for lang, syl in SYLLABLES.items():
        words = set(COMMON[lang])
        while len(words) < size:
            words.add("".join(rng.choice(syl) for _ in range(rng.randint(2, 4))))
        common = COMMON[lang]
        rest = sorted(words - set(common))
        rng.shuffle(rest)
        vocab[lang] = common + rest  # the common words take the top Zipf ranks
    return vocab


def corpus(hours: int, seed: int = 7) -> Iterator[Document]:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocab = vocabulary(rng)
    arrays = {k: np.array(v, dtype=object) for k, v in vocab.items()}
    ranks = np.arange(1, 20001)
    weights = 1.0 / ranks
    weights /= weights.sum()
    seg = 0
    for sitting in range(1, hours + 1):
        committee = COMMITTEES[sitting % len(COMMITTEES)]
        day = f"{2016 + sitting % 10}-{1 + sitting % 12:02d}-{1 + sitting % 28:02d}"
        idx = nrng.choice(20000, size=(SEGMENTS_PER_HOUR, WORDS_PER_SEGMENT), p=weights)
        langs = nrng.choice(3, size=SEGMENTS_PER_HOUR, p=[0.6, 0.3, 0.1])
        for k in range(SEGMENTS_PER_HOUR):
            lang = ("ru", "ky", "en")[langs[k]]
            seg += 1
            text = " ".join(arrays[lang][idx[k]]).capitalize() + "."
            yield Document(segment=seg, sitting=sitting, committee=committee, day=day,
                           speaker=SPEAKERS[(sitting * 7 + k // 20) % len(SPEAKERS)], speaker_id=None,
                           language=lang, start=k * 12.0, end=k * 12.0 + 11.5, text=text, official=sitting % 3 == 0,
                           **agenda_item(sitting, k))


def agenda_item(sitting: int, k: int) -> dict:
    """Ten agenda items a sitting; a bill comes back in several sittings (2,000 bills in all)."""
    position = k * 10 // SEGMENTS_PER_HOUR + 1
    return {"agenda": f"Bill {(sitting * 3 + position) % 2000}", "agenda_title": f"Item {position}",
            "agenda_position": position}


def queries(rng: random.Random) -> list[tuple[str, str, Filters]]:
    """200 (product query, bare FTS5 query, filters): words, phrases, prefixes, filters.

    Words come from Zipf ranks 1-3000 of the corpus vocabulary: a few very common ones (in
    most segments) and many mid-frequency ones, as people search."""
    vocab = vocabulary(random.Random(7))  # the corpus's own vocabulary (same seed)
    out = []
    for i in range(200):
        lang = rng.choice(["ru", "ru", "ky", "en"])
        words = vocab[lang][:15] if i % 10 == 0 else vocab[lang][15:3000]
        kind = i % 5
        if kind == 0:
            w = rng.choice(words)
            q, bare = w, f'"{w}"'
        elif kind == 1:
            a, b = rng.sample(words, 2)
            q, bare = f"{a} {b}", f'"{a}" "{b}"'
        elif kind == 2:
            a, b = rng.sample(words, 2)
            q, bare = f'"{a} {b}"', f'"{a} {b}"'
        elif kind == 3:
            w = rng.choice(words)[:4]
            q, bare = f"{w}*", f'"{w}"*'
        else:
            a, b = rng.sample(words, 2)
            q, bare = f"{a} OR {b}", f'"{a}" OR "{b}"'
        filters = Filters(committee=rng.choice(COMMITTEES)) if i % 2 else Filters()
        out.append((q, bare, filters))
    return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def bench_fts5(hours: int, tmp: Path) -> None:
    n = hours * SEGMENTS_PER_HOUR
    docs = list(corpus(hours))
    # Bare: executemany into a plain FTS5 table of the raw text.
    bare = sqlite3.connect(tmp / f"bare-{hours}.db", isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.execute("CREATE VIRTUAL TABLE t USING fts5(text)")
    t0 = time.perf_counter()
    bare.execute("BEGIN")
    bare.executemany("INSERT INTO t(rowid, text) VALUES (?, ?)", ((d.segment, d.text) for d in docs))
    bare.execute("COMMIT")
    bare_rate = n / (time.perf_counter() - t0)
    index = Fts5Index(tmp / f"product-{hours}.db", cache_size=0)  # every query runs
    t0 = time.perf_counter()
    index.rebuild(iter(docs))
    rate = n / (time.perf_counter() - t0)
    size = (tmp / f"product-{hours}.db").stat().st_size
    print(f"fts5 {hours} h ({n} segments): bulk index {rate:,.0f} seg/s vs bare executemany {bare_rate:,.0f} seg/s "
          f"= {rate / bare_rate:.2f} (goal >= 0.5); index {size / hours / 1024:.0f} KiB per sitting-hour")
    del docs
    qs = queries(random.Random(11))
    ours, base = [], []
    for q, bq, filters in qs:
        t0 = time.perf_counter()
        bare.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT 20", (bq,)).fetchall()
        bare.execute("SELECT count(*) FROM t WHERE t MATCH ?", (bq,)).fetchone()
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        index.search(q, filters)
        ours.append(time.perf_counter() - t0)
    print(f"fts5 {hours} h search: product p50 {p(ours, 50):.1f} ms p95 {p(ours, 95):.1f} ms; bare p50 "
          f"{p(base, 50):.1f} ms p95 {p(base, 95):.1f} ms; p95 ratio {p(ours, 95) / p(base, 95):.2f} (goal <= 3)")
    index.close()
    bare.close()


WARM_PASSES, TIMED_PASSES = 3, 5  # Elasticsearch: passes of the query mix before and while timing


def settle(es, timeout: float = 600) -> None:
    """Wait until the node has finished the merges that follow a bulk load."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = es.nodes.stats(metric="indices")["nodes"].values()
        if not sum(n["indices"]["merges"]["current"] for n in nodes):
            return
        time.sleep(2)


def bench_es(url: str, hours: int, exact_facets: int) -> None:
    from elasticsearch import Elasticsearch
    from elasticsearch.helpers import bulk

    n = hours * SEGMENTS_PER_HOUR
    es = Elasticsearch(url, request_timeout=120)
    if es.indices.exists(index="bare"):
        es.indices.delete(index="bare")
    es.indices.create(index="bare", settings={"number_of_shards": 1, "number_of_replicas": 0,
                                              "refresh_interval": "-1"},
                      mappings={"properties": {"text": {"type": "text"}}})
    t0 = time.perf_counter()
    bulk(es, ({"_index": "bare", "_id": d.segment, "_source": {"text": d.text}} for d in corpus(hours)),
         chunk_size=2000)
    es.indices.refresh(index="bare")
    bare_rate = n / (time.perf_counter() - t0)
    index = ElasticIndex(url, prefix=f"bench{hours}", timeout=120, exact_facets=exact_facets)
    t0 = time.perf_counter()
    index.rebuild(corpus(hours))
    rate = n / (time.perf_counter() - t0)
    stats = es.indices.stats(index=f"bench{hours}-segments")["_all"]["primaries"]["store"]["size_in_bytes"]
    print(f"es {hours} h ({n} segments): bulk index {rate:,.0f} seg/s vs bare bulk {bare_rate:,.0f} seg/s "
          f"= {rate / bare_rate:.2f} (goal >= 0.5); index {stats / hours / 1024:.0f} KiB per sitting-hour")
    settle(es)
    mix = queries(random.Random(11))
    ours, base, estimated = [], [], 0
    # A node answers its first few hundred queries two to three times slower than it will later
    # (compiled code, caches), the bare match and the product alike; then p95 of one pass of 200
    # queries still swings with a handful of outliers, so several passes are pooled.
    for pass_no in range(WARM_PASSES + TIMED_PASSES):
        timed = pass_no >= WARM_PASSES
        for q, _bq, filters in mix:
            plain = q.replace('"', "").replace("*", "").replace(" OR ", " ")
            t0 = time.perf_counter()
            es.search(index="bare", query={"match": {"text": plain}}, size=20)
            t1 = time.perf_counter()
            es.indices.clear_cache(request=True)  # no facets from the node's request cache
            t2 = time.perf_counter()
            result = index.search(q, filters)
            t3 = time.perf_counter()
            if timed:
                base.append(t1 - t0)
                ours.append(t3 - t2)
                estimated += result.facets_estimated
    print(f"es {hours} h search: product p50 {p(ours, 50):.1f} ms p95 {p(ours, 95):.1f} ms; bare match p50 "
          f"{p(base, 50):.1f} ms p95 {p(base, 95):.1f} ms; p95 ratio {p(ours, 95) / p(base, 95):.2f} (goal <= 3); "
          f"{TIMED_PASSES} passes of {len(mix)} queries after {WARM_PASSES} untimed; "
          f"facets estimated for {estimated // TIMED_PASSES} of {len(mix)} queries (over {exact_facets:,} matches)")
    index.close()
    es.indices.delete(index="bare")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--es", help="Elasticsearch URL")
    parser.add_argument("--es-launch", action="store_true", help="start the test node (tests/es-launcher)")
    parser.add_argument("--es-hours", type=int, nargs="+", default=[1000])
    parser.add_argument("--es-exact-facets", type=int, default=EXACT_FACETS,
                        help="matches up to which facets are counted exactly (the product's default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for hours in args.hours:
            bench_fts5(hours, Path(tmp))
    if args.es_launch:
        from tests.services import elasticsearch_node

        with elasticsearch_node() as url:
            for hours in args.es_hours:
                bench_es(url, hours, args.es_exact_facets)
    elif args.es:
        for hours in args.es_hours:
            bench_es(args.es, hours, args.es_exact_facets)


if __name__ == "__main__":
    main()
