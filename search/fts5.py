"""The embedded backend: SQLite FTS5 in ``<data dir>/search.db``.

Three tables: ``doc`` holds each segment's fields (narrow rows, so filters and facets over
many matches touch few pages), ``doc_text`` its original text (read only for the page of
hits and for deletes), and ``seg`` is a contentless FTS5 index over the analyzer's stems
(rowid = segment id). The index is derived data: a schema change drops it, and ``sanarip
reindex`` refills it.
Contentless tables need the old tokens to delete a row, which the analyzer recomputes from
``doc_text.text``. Every write transaction bumps ``meta.generation``, which keys the result cache.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from sanarip.textanalysis import index_text
from search.base import (
    RESULT_CACHE_SIZE,
    Document,
    Filters,
    Hit,
    SearchIndex,
    SearchResult,
    SearchUnavailable,
    grouped_facets,
)
from search.highlight import snippet
from search.query import Atom, Query

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
SCHEMA = f"""
DROP TABLE IF EXISTS doc; DROP TABLE IF EXISTS doc_text; DROP TABLE IF EXISTS seg; DROP TABLE IF EXISTS meta;
CREATE TABLE doc (
    id INTEGER PRIMARY KEY, sitting INTEGER NOT NULL, committee TEXT NOT NULL, day TEXT NOT NULL,
    year INTEGER NOT NULL, speaker TEXT, speaker_id INTEGER, language TEXT, start REAL NOT NULL,
    "end" REAL NOT NULL, official INTEGER NOT NULL);
CREATE INDEX doc_sitting ON doc(sitting);
CREATE TABLE doc_text (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE VIRTUAL TABLE seg USING fts5(stem, content='', tokenize='unicode61 remove_diacritics 0');
CREATE TABLE meta (generation INTEGER NOT NULL);
INSERT INTO meta VALUES (0);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _fts_atom(atom: Atom) -> str:
    if atom.kind == "prefix":
        return f"{_quote(atom.terms[0])} *"
    return _quote(" ".join(atom.terms))


def to_fts(query: Query) -> str:
    """The FTS5 MATCH expression for a parsed query."""
    clauses = ["(" + " OR ".join(_fts_atom(a) for a in clause) + ")" for clause in query.clauses]
    expr = " AND ".join(clauses)
    for atom in query.excluded:
        expr = f"({expr}) NOT {_fts_atom(atom)}"
    return expr


def _filters_sql(f: Filters) -> tuple[str, list]:
    conds, args = [], []
    if f.committee:
        conds.append("d.committee = ?")
        args.append(f.committee)
    if f.date_from:
        conds.append("d.day >= ?")
        args.append(f.date_from.isoformat())
    if f.date_to:
        conds.append("d.day <= ?")
        args.append(f.date_to.isoformat())
    if f.speaker:
        conds.append("d.speaker = ?")
        args.append(f.speaker)
    if f.language:
        conds.append("d.language = ?")
        args.append(f.language)
    if f.official_only:
        conds.append("d.official = 1")
    return (" AND " + " AND ".join(conds)) if conds else "", args


class Fts5Index(SearchIndex):
    def __init__(self, path: str | Path, cache_size: int = RESULT_CACHE_SIZE) -> None:
        super().__init__(cache_size)
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._conn()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            if version:
                log.warning("search index %s: new schema; run `sanarip reindex` to refill it", self.path)
            conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("UPDATE meta SET generation = generation + 1")  # invalidates cached results
            return self.conn

        def __exit__(self, exc_type, *_) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _write(self) -> _Tx:
        return self._Tx(self._conn())

    # --- writing ---------------------------------------------------------------------------
    @staticmethod
    def _insert(db: sqlite3.Connection, docs: Iterable[Document]) -> int:
        rows, texts, fts = [], [], []
        for d in docs:
            rows.append((d.segment, d.sitting, d.committee, d.day, d.year, d.speaker, d.speaker_id, d.language,
                         d.start, d.end, int(d.official)))
            texts.append((d.segment, d.text))
            fts.append((d.segment, index_text(d.text)))
        db.executemany("INSERT INTO doc VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO doc_text VALUES (?,?)", texts)
        db.executemany("INSERT INTO seg(rowid, stem) VALUES (?,?)", fts)
        return len(rows)

    @staticmethod
    def _delete(db: sqlite3.Connection, where: str, args: list) -> None:
        old = db.execute(f"SELECT t.id, t.text FROM doc JOIN doc_text t ON t.id = doc.id WHERE {where}",
                         args).fetchall()
        db.executemany("INSERT INTO seg(seg, rowid, stem) VALUES ('delete', ?, ?)",
                       [(i, index_text(text)) for i, text in old])
        db.executemany("DELETE FROM doc WHERE id = ?", [(i,) for i, _ in old])
        db.executemany("DELETE FROM doc_text WHERE id = ?", [(i,) for i, _ in old])

    def replace_sitting(self, sitting: int, docs: Iterable[Document]) -> None:
        docs = list(docs)
        with self._write() as db:
            self._delete(db, "doc.sitting = ?", [sitting])
            self._insert(db, docs)

    def add(self, docs: Iterable[Document]) -> None:
        docs = list(docs)
        if not docs:
            return
        with self._write() as db:
            ids = [d.segment for d in docs]
            self._delete(db, f"doc.id IN ({','.join('?' * len(ids))})", ids)
            self._insert(db, docs)

    def rebuild(self, docs: Iterable[Document], total: int | None = None, progress=None) -> int:
        count, batch = 0, []
        with self._write() as db:
            db.execute("DELETE FROM doc")
            db.execute("DELETE FROM doc_text")
            db.execute("INSERT INTO seg(seg) VALUES ('delete-all')")
            for d in docs:
                batch.append(d)
                if len(batch) >= 5000:
                    count += self._insert(db, batch)
                    batch = []
                    if progress:
                        progress(count)
            count += self._insert(db, batch)
        with self._write() as db:
            db.execute("INSERT INTO seg(seg) VALUES ('optimize')")
        if progress:
            progress(count)
        return count

    # --- searching ---------------------------------------------------------------------------
    def generation(self) -> int:
        return self._conn().execute("SELECT generation FROM meta").fetchone()[0]

    def _search(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        where, args = _filters_sql(filters)
        match = to_fts(parsed)
        base = f"FROM seg JOIN doc d ON d.id = seg.rowid WHERE seg MATCH ?{where}"
        order = "seg.rank" if sort == "relevance" else "d.day DESC, d.sitting DESC, d.start"
        db = self._conn()
        try:
            page_rows = db.execute(
                f"SELECT d.id, d.sitting, d.start, d.\"end\", d.committee, d.day, d.speaker, d.language, "
                f"d.official, seg.rank {base} ORDER BY {order} LIMIT ? OFFSET ?",
                [match, *args, page_size, (page - 1) * page_size],
            ).fetchall()
            texts = dict(db.execute(f"SELECT id, text FROM doc_text WHERE id IN ({','.join('?' * len(page_rows))})",
                                    [r[0] for r in page_rows]).fetchall()) if page_rows else {}
            # All three facets (and the total) from one scan of the matches.
            groups = db.execute(f"SELECT d.committee, d.speaker, d.year, count(*) {base} GROUP BY 1, 2, 3",
                                [match, *args]).fetchall()
        except sqlite3.OperationalError as exc:
            raise SearchUnavailable(f"search index error: {exc}") from None
        facets = grouped_facets(groups)
        total = sum(n for *_, n in groups)
        hits = []
        for seg_id, sitting, start, end, committee, day, speaker, language, official, rank in page_rows:
            html, marked = snippet(texts[seg_id], parsed)
            hits.append(Hit(sitting, seg_id, start, end, committee, day, speaker, language, bool(official),
                            html, marked, -rank))
        return SearchResult(total, hits, facets, page, page_size)

    def check(self) -> None:
        try:
            self._conn().execute("SELECT count(*) FROM doc LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise SearchUnavailable(f"search index {self.path} unusable: {exc}") from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
