"""The parliamentary record: Popolo organizations, identifiers, posts, memberships; agenda items; votes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("classification", sa.String(64), nullable=False),
        sa.Column("committee_id", sa.Integer(), sa.ForeignKey("committee.id", ondelete="SET NULL"), unique=True),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="SET NULL")),
        sa.Column("founding_date", sa.String(10)),
        sa.Column("dissolution_date", sa.String(10)),
    )
    op.create_index("ix_organization_classification", "organization", ["classification"])
    op.create_table(
        "identifier",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE")),
        sa.Column("organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE")),
        sa.Column("scheme", sa.String(100), nullable=False),
        sa.Column("identifier", sa.String(300), nullable=False),
    )
    op.create_index("ix_identifier_value", "identifier", ["identifier", "scheme"])
    op.create_index("ix_identifier_person_id", "identifier", ["person_id"])
    op.create_index("ix_identifier_organization_id", "identifier", ["organization_id"])
    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("role", sa.String(100)),
        sa.Column("popolo_id", sa.String(300), unique=True),
    )
    op.create_index("ix_post_organization_id", "post", ["organization_id"])
    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id", ondelete="SET NULL")),
        sa.Column("role", sa.String(100)),
        sa.Column("start_date", sa.String(10)),
        sa.Column("end_date", sa.String(10)),
        sa.Column("popolo_id", sa.String(300), unique=True),
    )
    op.create_index("ix_membership_person_id", "membership", ["person_id"])
    op.create_index("ix_membership_organization_id", "membership", ["organization_id"])
    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sitting_id", sa.Integer(), sa.ForeignKey("sitting.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("link", sa.String(2000)),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float()),
        sa.UniqueConstraint("sitting_id", "position"),
    )
    op.create_index("ix_agenda_item_sitting_id", "agenda_item", ["sitting_id"])
    op.create_table(
        "vote_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sitting_id", sa.Integer(), sa.ForeignKey("sitting.id", ondelete="CASCADE"), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False, unique=True),
        sa.Column("motion_identifier", sa.String(200)),
        sa.Column("motion_text", sa.Text(), nullable=False),
        sa.Column("start_date", WHEN, nullable=False),
        sa.Column("media_time", sa.Float(), nullable=False),
        sa.Column("in_gap", sa.Boolean(), nullable=False),
        sa.Column("result", sa.String(100)),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("group_results", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_vote_event_sitting_time", "vote_event", ["sitting_id", "media_time"])
    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vote_event_id", sa.Integer(), sa.ForeignKey("vote_event.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("option", sa.String(16), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="SET NULL")),
        sa.UniqueConstraint("vote_event_id", "person_id"),
    )
    op.create_index("ix_vote_person_id", "vote", ["person_id"])


def downgrade() -> None:
    for table in ("vote", "vote_event", "agenda_item", "membership", "post", "identifier", "organization"):
        op.drop_table(table)
