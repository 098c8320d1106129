"""Votes keyed by (vote event, person), clustered on SQLite (WITHOUT ROWID): a vote import appends a
vote event's votes to one B-tree where a rowid table and a unique index on that pair were two

Revision ID: 0009_votesperf
Revises: 0008_recordperf
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_votesperf"
down_revision = "0008_recordperf"
branch_labels = None
depends_on = None

COLUMNS = "vote_event_id, person_id, option, group_id"
PAIR = ["vote_event_id", "person_id"]


def _rebuild(keyed_by_pair: bool) -> None:
    """SQLite changes neither a table's key nor its rowid in place: a new table, the rows copied in the
    pair's order, the old table (and its indexes) dropped."""
    rowid = [] if keyed_by_pair else [sa.Column("id", sa.Integer(), primary_key=True)]
    key = sa.PrimaryKeyConstraint(*PAIR) if keyed_by_pair else sa.UniqueConstraint(*PAIR)
    op.create_table(
        "vote_new",
        *rowid,
        sa.Column("vote_event_id", sa.Integer(), sa.ForeignKey("vote_event.id", ondelete="CASCADE"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("option", sa.String(16), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="SET NULL")),
        key,
        sqlite_with_rowid=not keyed_by_pair,
    )
    op.execute(f"INSERT INTO vote_new ({COLUMNS}) SELECT {COLUMNS} FROM vote ORDER BY vote_event_id, person_id")
    op.drop_table("vote")
    op.rename_table("vote_new", "vote")
    op.create_index("ix_vote_person_event", "vote", ["person_id", "vote_event_id", "option"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(keyed_by_pair=True)
        return
    # PostgreSQL keeps a heap either way: the pair becomes the key, the id column and its index go.
    op.drop_column("vote", "id")
    op.drop_constraint("vote_vote_event_id_person_id_key", "vote", type_="unique")
    op.create_primary_key("vote_pkey", "vote", PAIR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(keyed_by_pair=False)
        return
    op.drop_constraint("vote_pkey", "vote", type_="primary")
    op.create_unique_constraint("vote_vote_event_id_person_id_key", "vote", PAIR)
    op.execute("ALTER TABLE vote ADD COLUMN id SERIAL PRIMARY KEY")
