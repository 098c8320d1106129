"""Alerts stored per sitting, not per match: what a sitting's text matched (one row per sitting and pass
listing the matched targets) and what each subscription was already sent of a sitting; a digest in the
outbox keeps its sections, so that unsubscribing from one rebuilds it without that one.
Pending per-match rows are dropped (matches not yet in a message are found again by the next pass).

Revision ID: 0010_alertstore
Revises: 0009_votesperf
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_alertstore"
down_revision = "0009_votesperf"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_sitting",
        sa.Column("sitting_id", sa.Integer(), sa.ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("draft", sa.Boolean(), primary_key=True),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("immediate_seq", sa.Integer(), nullable=False),
        sa.Column("daily_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
    )
    op.create_table(
        "alert_delivery",
        sa.Column(
            "subscription_id", sa.Integer(), sa.ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("sitting_id", sa.Integer(), sa.ForeignKey("sitting.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("segments", sa.JSON(), nullable=False),
    )
    op.create_index("ix_alert_delivery_sitting_id", "alert_delivery", ["sitting_id"])
    op.add_column("outgoing_mail", sa.Column("sections", sa.JSON(), nullable=True))
    # What was already sent stays sent: each subscription's delivered segments, per sitting.
    conn = op.get_bind()
    sent = conn.execute(
        sa.text(
            'SELECT subscription_id, sitting_id, segment_id, start, "end" FROM alert_match '
            "WHERE message_id IS NOT NULL ORDER BY id"
        )
    ).all()
    delivered: dict[tuple[int, int], list] = {}
    for sub_id, sitting_id, segment_id, start, end in sent:
        delivered.setdefault((sub_id, sitting_id), []).append([segment_id, start, end])
    if delivered:
        table = sa.table(
            "alert_delivery", sa.column("subscription_id"), sa.column("sitting_id"), sa.column("segments", sa.JSON())
        )
        op.bulk_insert(
            table, [{"subscription_id": k[0], "sitting_id": k[1], "segments": v} for k, v in delivered.items()]
        )
    op.drop_table("alert_match")


def downgrade() -> None:
    op.create_table(
        "alert_match",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscription_id", sa.Integer(), sa.ForeignKey("subscription.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), sa.ForeignKey("sitting.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("committee", sa.String(300), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("speaker", sa.String(300), nullable=True),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("outgoing_mail.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("subscription_id", "segment_id"),
    )
    op.create_index("ix_alert_match_sitting_id", "alert_match", ["sitting_id"])
    op.create_index("ix_alert_match_message_id", "alert_match", ["message_id"])
    with op.batch_alter_table("outgoing_mail") as batch:
        batch.drop_column("sections")
    op.drop_table("alert_delivery")
    op.drop_table("alert_sitting")
