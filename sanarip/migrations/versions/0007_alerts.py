"""Alerts: subscriptions (double opt-in), their matches, and the outgoing mail they become

Revision ID: 0007
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True),
        sa.Column("committee_id", sa.Integer(), sa.ForeignKey("committee.id", ondelete="CASCADE"), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("confirm_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("unsubscribe_token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("confirmed_at", UTC, nullable=True),
    )
    for column in ("email", "person_id", "committee_id", "confirmed_at"):
        op.create_index(f"ix_subscription_{column}", "subscription", [column])
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscription.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False, unique=True),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outgoing_mail_subscription_id", "outgoing_mail", ["subscription_id"])
    op.create_index("ix_outgoing_mail_sent_at", "outgoing_mail", ["sent_at"])
    op.create_table(
        "alert_match",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscription.id", ondelete="CASCADE"),
                  nullable=False),
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


def downgrade() -> None:
    op.drop_table("alert_match")
    op.drop_table("outgoing_mail")
    op.drop_table("subscription")
