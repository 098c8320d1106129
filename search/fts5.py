"""The embedded backend: SQLite FTS5 in ``<data dir>/search.db``.

Three tables: ``doc`` holds each segment's fields (narrow rows, so filters and facets over
many matches touch few pages), ``doc_text`` its original text (read only for the page of
hits and for deletes), and ``seg`` is a contentless FTS5 index over the analyzer's stems
(rowid = segment id). The index is derived data: a schema change drops it, and ``sanarip
reindex`` refills it.
Contentless tables need the old tokens to delete a row, which the analyzer recomputes from
``doc_text.text``. Every write transaction bumps ``meta.generation``, which keys the result cache.
``rebuild`` fills a second set of the three tables (``doc_<target>`` …) in batches, so writers
wait for at most one batch, then renames them into place in one transaction; its lock is the
one row of ``rebuild_lock`` and writers journal into ``rebuild_journal`` (see SearchIndex.rebuild).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from cachetools import LRUCache

from sanarip.textanalysis import index_text
from search import processes
from search.base import (
    RESULT_CACHE_SIZE,
    SEARCH_BUDGET,
    SEARCH_CONCURRENCY,
    SEARCH_QUEUE,
    WHOLE_SITTING,
    Document,
    Filters,
    Hit,
    RebuildAbandoned,
    RebuildLock,
    SearchIndex,
    SearchResult,
    SearchUnavailable,
    grouped_facets,
)
from search.highlight import snippet
from search.query import Atom, Query, QueryTooExpensive

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
PROGRESS_STEPS = 20_000  # SQLite virtual-machine steps between two looks at the clock
OPEN_TIMEOUT = 30.0  # seconds a connection waits for another's lock
OPEN_READERS = 8  # index files a search process keeps a connection to (the tests' many; a server's one)
TABLES = """
CREATE TABLE {doc} (
    id INTEGER PRIMARY KEY, sitting INTEGER NOT NULL, committee TEXT NOT NULL, day TEXT NOT NULL,
    year INTEGER NOT NULL, speaker TEXT, speaker_id INTEGER, language TEXT, start REAL NOT NULL,
    "end" REAL NOT NULL, official INTEGER NOT NULL, agenda TEXT, agenda_title TEXT, agenda_position INTEGER);
CREATE TABLE {doc_text} (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE VIRTUAL TABLE {seg} USING fts5(stem, content='', tokenize='unicode61 remove_diacritics 0');
"""
# Version 3 lacked the agenda columns: an index of version 3 gains them when opened (empty until
# ``sanarip reindex`` or the sitting's next write), so search keeps serving meanwhile.
FROM_3 = """
ALTER TABLE doc ADD COLUMN agenda TEXT; ALTER TABLE doc ADD COLUMN agenda_title TEXT;
ALTER TABLE doc ADD COLUMN agenda_position INTEGER;
PRAGMA user_version = 4;
"""
# Added without a schema change (an index of version 3 gains them when opened).
CONTROL = """
CREATE TABLE IF NOT EXISTS rebuild_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, target TEXT NOT NULL, started REAL NOT NULL,
    heartbeat REAL NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rebuild_journal (
    owner TEXT NOT NULL, sitting INTEGER NOT NULL, segment INTEGER NOT NULL,
    PRIMARY KEY (owner, sitting, segment)) WITHOUT ROWID;
"""
SCHEMA = f"""
DROP TABLE IF EXISTS doc; DROP TABLE IF EXISTS doc_text; DROP TABLE IF EXISTS seg; DROP TABLE IF EXISTS meta;
DROP TABLE IF EXISTS rebuild_lock; DROP TABLE IF EXISTS rebuild_journal;
{TABLES.format(doc="doc", doc_text="doc_text", seg="seg")}
CREATE INDEX doc_sitting ON doc(sitting);
CREATE TABLE meta (generation INTEGER NOT NULL);
INSERT INTO meta VALUES (0);
{CONTROL}
PRAGMA user_version = {SCHEMA_VERSION};
"""
LIVE = ("doc", "doc_text", "seg")


def _tables(target: str) -> tuple[str, str, str]:
    """The (doc, doc_text, seg) tables a rebuild with ``target`` fills."""
    if not target.isalnum():
        raise ValueError(f"bad rebuild target {target!r}")
    return f"doc_{target}", f"doc_text_{target}", f"seg_{target}"


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
    if f.agenda:
        conds.append("d.agenda = ?")
        args.append(f.agenda)
    return (" AND " + " AND ".join(conds)) if conds else "", args


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a new index file to WAL. SQLite answers "database is locked" at once, without waiting
    (the busy timeout), when another connection is switching the same new file: so retry."""
    deadline = time.monotonic() + OPEN_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Fts5Index(SearchIndex):
    def __init__(self, path: str | Path, cache_size: int = RESULT_CACHE_SIZE, budget: float = SEARCH_BUDGET,
                 concurrency: int = SEARCH_CONCURRENCY, queue: int = SEARCH_QUEUE) -> None:
        super().__init__(cache_size, budget, concurrency, queue)
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        if not self._schema_missing(self._conn()):
            return
        # Under the write lock: server processes starting together on a new index would otherwise
        # each drop and create the tables the other has just made (a health check then saw none).
        with self._write(bump=False) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 3:
                log.warning("search index %s: agenda items added; run `sanarip reindex` to fill them", self.path)
                script = CONTROL + FROM_3
            elif version != SCHEMA_VERSION:
                if version:
                    log.warning("search index %s: new schema; run `sanarip reindex` to refill it", self.path)
                script = SCHEMA
            elif not self._has_control(conn):
                script = CONTROL
            else:
                script = ""  # another process has just made it
            for statement in filter(str.strip, script.split(";")):  # no ';' inside the schema's statements
                conn.execute(statement)

    @staticmethod
    def _has_control(conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rebuild_journal'").fetchone() is not None

    @classmethod
    def _schema_missing(cls, conn: sqlite3.Connection) -> bool:
        return conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION or not cls._has_control(conn)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=OPEN_TIMEOUT, isolation_level=None, check_same_thread=False)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, conn: sqlite3.Connection, bump: bool) -> None:
            self.conn, self.bump = conn, bump

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            if self.bump:
                self.conn.execute("UPDATE meta SET generation = generation + 1")  # invalidates cached results
            return self.conn

        def __exit__(self, exc_type, *_) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _write(self, bump: bool = True) -> _Tx:
        """A write transaction; ``bump=False`` for writes searches cannot see (the rebuild's own tables)."""
        return self._Tx(self._conn(), bump)

    # --- writing ---------------------------------------------------------------------------
    @staticmethod
    def _insert(db: sqlite3.Connection, docs: Iterable[Document], tables: tuple[str, str, str] = LIVE) -> int:
        doc, doc_text, seg = tables
        rows, texts, fts = [], [], []
        for d in docs:
            rows.append((d.segment, d.sitting, d.committee, d.day, d.year, d.speaker, d.speaker_id, d.language,
                         d.start, d.end, int(d.official), d.agenda, d.agenda_title, d.agenda_position))
            texts.append((d.segment, d.text))
            fts.append((d.segment, index_text(d.text, d.language)))
        db.executemany(f"INSERT INTO {doc} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.executemany(f"INSERT INTO {doc_text} VALUES (?,?)", texts)
        db.executemany(f"INSERT INTO {seg}(rowid, stem) VALUES (?,?)", fts)
        return len(rows)

    @staticmethod
    def _delete(db: sqlite3.Connection, where: str, args: list, tables: tuple[str, str, str] = LIVE) -> None:
        """Delete the rows ``where`` (over ``doc``) selects."""
        doc, doc_text, seg = tables
        old = db.execute(f"SELECT t.id, t.text, doc.language FROM {doc} AS doc JOIN {doc_text} AS t "
                         f"ON t.id = doc.id WHERE {where}", args).fetchall()
        db.executemany(f"INSERT INTO {seg}({seg}, rowid, stem) VALUES ('delete', ?, ?)",
                       [(i, index_text(text, lang)) for i, text, lang in old])
        db.executemany(f"DELETE FROM {doc} WHERE id = ?", [(i,) for i, _, _ in old])
        db.executemany(f"DELETE FROM {doc_text} WHERE id = ?", [(i,) for i, _, _ in old])

    @classmethod
    def _copy(cls, db: sqlite3.Connection, where: str, args: list, target: tuple[str, str, str]) -> None:
        """Make the rows ``where`` selects in ``target`` what they are in the live tables."""
        cls._delete(db, where, args, target)
        doc, doc_text, seg = target
        db.execute(f"INSERT INTO {doc} SELECT * FROM doc WHERE {where}", args)
        rows = db.execute(f"SELECT t.id, t.text, doc.language FROM doc JOIN doc_text AS t ON t.id = doc.id "
                          f"WHERE {where}", args).fetchall()
        db.executemany(f"INSERT INTO {doc_text} VALUES (?,?)", [(i, t) for i, t, _ in rows])
        db.executemany(f"INSERT INTO {seg}(rowid, stem) VALUES (?,?)",
                       [(i, index_text(t, lang)) for i, t, lang in rows])

    def _journal(self, db: sqlite3.Connection, entries: list[tuple[int, int]]) -> None:
        """Inside a write: note what it touched if a rebuild is running (it replays them before switching)."""
        lock = self._running_rebuild(self._lock_row(db))
        if lock is not None:
            db.executemany("INSERT OR IGNORE INTO rebuild_journal VALUES (?,?,?)",
                           [(lock.owner, sitting, segment) for sitting, segment in entries])

    def replace_sitting(self, sitting: int, docs: Iterable[Document]) -> None:
        docs = list(docs)
        with self._write() as db:
            self._journal(db, self._journal_entries(sitting))
            self._delete(db, "doc.sitting = ?", [sitting])
            self._insert(db, docs)

    def add(self, docs: Iterable[Document]) -> None:
        docs = list(docs)
        if not docs:
            return
        with self._write() as db:
            self._journal(db, self._journal_entries(docs=docs))
            ids = [d.segment for d in docs]
            self._delete(db, f"doc.id IN ({','.join('?' * len(ids))})", ids)
            self._insert(db, docs)

    # --- rebuilding (the protocol is SearchIndex.rebuild's) -------------------------------------
    @staticmethod
    def _lock_row(db: sqlite3.Connection) -> RebuildLock | None:
        row = db.execute("SELECT owner, target, started, heartbeat, state FROM rebuild_lock").fetchone()
        return RebuildLock(*row) if row else None

    def _rebuild_target(self, owner: str) -> str:
        return "b" + owner[:12]

    def _lock_create(self, lock: RebuildLock) -> bool:
        with self._write(bump=False) as db:
            return db.execute("INSERT OR IGNORE INTO rebuild_lock VALUES (1, ?, ?, ?, ?, ?)",
                              (lock.owner, lock.target, lock.started, lock.heartbeat, lock.state)).rowcount == 1

    def _lock_read(self) -> RebuildLock | None:
        return self._lock_row(self._conn())

    def _lock_replace(self, expected: RebuildLock, new: RebuildLock) -> bool:
        with self._write(bump=False) as db:
            return db.execute(
                "UPDATE rebuild_lock SET owner = ?, target = ?, started = ?, heartbeat = ?, state = ? "
                "WHERE owner = ? AND heartbeat = ? AND state = ?",
                (new.owner, new.target, new.started, new.heartbeat, new.state, expected.owner, expected.heartbeat,
                 expected.state)).rowcount == 1

    def _build(self, lock: RebuildLock, docs: Iterable[Document]) -> None:
        doc, doc_text, seg = tables = _tables(lock.target)
        with self._write(bump=False) as db:
            for statement in TABLES.format(doc=doc, doc_text=doc_text, seg=seg).split(";"):
                if statement.strip():
                    db.execute(statement)
        batch: list[Document] = []
        for d in docs:  # read outside any transaction: writers wait for one batch at most
            batch.append(d)
            if len(batch) >= 5000:
                with self._write(bump=False) as db:
                    self._insert(db, batch, tables)
                batch = []
        with self._write(bump=False) as db:
            self._insert(db, batch, tables)
            db.execute(f"CREATE INDEX {doc}_sitting ON {doc}(sitting)")
        with self._write(bump=False) as db:
            db.execute(f"INSERT INTO {seg}({seg}) VALUES ('optimize')")

    def _switch(self, lock: RebuildLock) -> None:
        target = _tables(lock.target)
        with self._write() as db:  # one transaction: writers wait, readers see the old index or the new
            if self._lock_row(db) != lock or time.time() - lock.heartbeat > self.rebuild_stale_after / 2:
                raise RebuildAbandoned("the search index rebuild lost its lock or stalled, and gave up; run it again")
            entries = db.execute("SELECT sitting, segment FROM rebuild_journal WHERE owner = ?",
                                 (lock.owner,)).fetchall()
            sittings = sorted({sitting for sitting, segment in entries if segment == WHOLE_SITTING})
            for sitting in sittings:
                self._copy(db, "doc.sitting = ?", [sitting], target)
            segments = sorted({segment for sitting, segment in entries if segment != WHOLE_SITTING
                               and sitting not in sittings})
            for i in range(0, len(segments), 500):
                part = segments[i:i + 500]
                self._copy(db, f"doc.id IN ({','.join('?' * len(part))})", part, target)
            for live, new in zip(LIVE, target, strict=True):
                db.execute(f"DROP TABLE {live}")
                db.execute(f"ALTER TABLE {new} RENAME TO {live}")
            db.execute("DELETE FROM rebuild_journal WHERE owner = ?", (lock.owner,))
            db.execute("DELETE FROM rebuild_lock WHERE owner = ?", (lock.owner,))

    def _discard(self, lock: RebuildLock) -> None:
        with self._write(bump=False) as db:
            for table in _tables(lock.target):  # never the live tables: those have other names
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("DELETE FROM rebuild_journal WHERE owner = ?", (lock.owner,))
            db.execute("DELETE FROM rebuild_lock WHERE owner = ?", (lock.owner,))

    # --- searching ---------------------------------------------------------------------------
    def generation(self) -> int:
        return self._conn().execute("SELECT generation FROM meta").fetchone()[0]

    def _search(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        return run_query(self._conn(), self.budget, parsed, filters, page, sort, page_size)

    def _run(self, parsed: Query, filters: Filters, page: int, sort: str, page_size: int) -> SearchResult:
        """In a search process (search.processes), never holding the web process's interpreter lock."""
        return processes.run(self._concurrency, search_file, os.path.abspath(self.path), self.budget, parsed, filters,
                             page, sort, page_size)

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
        super().close()


def run_query(db: sqlite3.Connection, budget: float, parsed: Query, filters: Filters, page: int, sort: str,
              page_size: int) -> SearchResult:
    """A parsed query against the index ``db`` is connected to; QueryTooExpensive past ``budget`` seconds."""
    where, args = _filters_sql(filters)
    match = to_fts(parsed)
    base = f"FROM seg JOIN doc d ON d.id = seg.rowid WHERE seg MATCH ?{where}"
    order = "seg.rank" if sort == "relevance" else "d.day DESC, d.sitting DESC, d.start"
    deadline = time.monotonic() + budget
    # Past the budget the handler's non-zero answer interrupts the statement ("interrupted").
    db.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
    try:
        page_rows = db.execute(
            f"SELECT d.id, d.sitting, d.start, d.\"end\", d.committee, d.day, d.speaker, d.language, "
            f"d.official, seg.rank, d.agenda, d.agenda_title, d.agenda_position {base} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            [match, *args, page_size, (page - 1) * page_size],
        ).fetchall()
        texts = dict(db.execute(f"SELECT id, text FROM doc_text WHERE id IN ({','.join('?' * len(page_rows))})",
                                [r[0] for r in page_rows]).fetchall()) if page_rows else {}
        # All five facets (and the total) from one scan of the matches.
        groups = db.execute(f"SELECT d.committee, d.speaker, d.year, count(*), d.language, d.agenda {base} "
                            "GROUP BY 1, 2, 3, 5, 6",
                            [match, *args]).fetchall()
    except sqlite3.OperationalError as exc:
        if time.monotonic() > deadline and "interrupt" in str(exc):
            raise QueryTooExpensive(budget) from None
        raise SearchUnavailable(f"search index error: {exc}") from None
    finally:
        db.set_progress_handler(None, 0)
    facets = grouped_facets(groups)
    total = sum(n for _, _, _, n, _, _ in groups)
    hits = []
    for (seg_id, sitting, start, end, committee, day, speaker, language, official, rank, agenda, agenda_title,
         agenda_position) in page_rows:
        html, marked = snippet(texts[seg_id], parsed, language)
        hits.append(Hit(sitting, seg_id, start, end, committee, day, speaker, language, bool(official),
                        html, marked, -rank, agenda, agenda_title, agenda_position))
    return SearchResult(total, hits, facets, page, page_size)


class _Readers(LRUCache):
    """A search process's connections by index file, the least recently used closed past ``OPEN_READERS``
    (one thread per process: no lock)."""

    def popitem(self) -> tuple[str, sqlite3.Connection]:
        path, conn = super().popitem()
        conn.close()
        return path, conn


_readers = _Readers(OPEN_READERS)


def search_file(path: str, budget: float, parsed: Query, filters: Filters, page: int, sort: str,
                page_size: int) -> SearchResult:
    """``run_query`` on the index file ``path``, in a search process (a few files' connections kept open)."""
    db = _readers.get(path)
    if db is None:
        db = _readers[path] = sqlite3.connect(path, timeout=30, isolation_level=None)
    return run_query(db, budget, parsed, filters, page, sort, page_size)
