from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from sanarip.catalog import add_committee
from sanarip.db import Database, DatabaseError
from sanarip.models import Sitting


def test_upgrade_is_idempotent_and_creates_schema(runtime):
    runtime.db.upgrade()
    tables = set(inspect(runtime.db.engine).get_table_names())
    assert {"committee", "sitting", "media_segment", "transcript_segment", "publication", "person",
            "revision", "job", "user", "api_token", "audit_log", "alembic_version"} <= tables


def test_migrations_match_the_models(runtime):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sanarip.models import Base

    with runtime.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_datetimes_round_trip_as_utc(runtime):
    bishkek = timezone(timedelta(hours=6))
    with runtime.db.session() as s:
        c = add_committee(s, "budget", "Budget")
        st = Sitting(committee_id=c.id, title="t", scheduled_start=datetime(2026, 3, 1, 10, 0, tzinfo=bishkek))
        s.add(st)
        s.flush()
        sid = st.id
    with runtime.db.session() as s:
        got = s.get(Sitting, sid).scheduled_start
    assert got == datetime(2026, 3, 1, 4, 0, tzinfo=UTC) and got.tzinfo is not None


def test_foreign_keys_enforced(runtime):
    with pytest.raises(IntegrityError), runtime.db.session() as s:
        s.add(Sitting(committee_id=999, title="orphan"))
        s.flush()


def test_sqlite_uses_wal(sqlite_runtime):
    with sqlite_runtime.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_unreachable_database_is_one_line():
    with pytest.raises(DatabaseError, match="database unreachable") as err:
        Database("postgresql://nobody@127.0.0.1:1/x").check()
    assert "\n" not in str(err.value)
