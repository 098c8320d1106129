"""Engine, sessions and migrations. SQLite gets WAL and foreign keys; PostgreSQL works by URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sanarip.errors import SanaripError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_CACHE_KIB = 64 * 1024
SQLITE_MMAP_BYTES = 1 << 30


class DatabaseError(SanaripError):
    """The database cannot be reached or is not usable."""


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (a writer held the lock past the busy timeout)."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def _sqlite_pragmas(busy_timeout: float):
    def apply(dbapi_conn, _record) -> None:  # pragma: no cover - driver callback
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # A parliament's record is millions of vote rows: with SQLite's default 2 MB page cache each
        # vote import re-reads the index pages it appends to and each record page reads its pages
        # through system calls. Up to 64 MB of cache per connection (grown only as used) and reads
        # through a memory map keep the hot pages at hand (issue 23's figures).
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        # Checkpoint the WAL every 10,000 pages (40 MB) instead of 1,000: a vote import dirties a page per
        # deputy and each checkpoint fsyncs twice; fewer, larger checkpoints copy a re-dirtied page once.
        # Durability and isolation are unchanged (issue 23).
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    return apply


def _sqlite_begin(conn) -> None:  # pragma: no cover - driver callback
    readonly = conn.get_execution_options().get("readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder when needed."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))
        # Take over BEGIN from pysqlite: writers start with BEGIN IMMEDIATE so a read-then-write
        # transaction waits for the lock (busy_timeout) instead of failing with SQLITE_BUSY.
        event.listen(engine, "connect", lambda c, r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def insert_many(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) with the driver's own executemany.

    For bulk writes (votes: 1,200 rows per push): SQLAlchemy's per-row handling of parameter dicts
    costs several times what SQLite spends storing the row. Columns whose type converts values
    (UTC datetimes, JSON) still get their type's conversion, so the stored values are the same.
    """
    if not rows:
        return
    dialect = conn.dialect
    convert = [table.c[c].type.bind_processor(dialect) for c in columns]
    if any(convert):
        rows = [tuple(f(v) if f else v for f, v in zip(convert, row, strict=True)) for row in rows]
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    conn.exec_driver_sql(sql, list(rows))


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(self.engine.execution_options(readonly=True), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, readonly: bool = False) -> Iterator[Session]:
        """A session committed on success and rolled back on error.

        On SQLite a writing session holds the write lock from its first statement; pass
        ``readonly=True`` for pure reads so they never wait for writers.
        """
        with (self.read_sessions if readonly else self.sessions)() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def check(self) -> None:
        """Raise DatabaseError with a one-line reason if the database is unreachable.

        A read (plain BEGIN): a health check must not queue behind writers for SQLite's lock.
        """
        try:
            with self.engine.connect().execution_options(readonly=True) as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise DatabaseError(f"database unreachable: {str(exc.orig).strip().splitlines()[0]}") from None

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied."""
        from alembic import command
        from alembic.config import Config

        self.check()
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()
