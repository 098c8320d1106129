"""Speakers: diarization label and proposal per segment, voice profiles

Revision ID: 0005
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcript_segment") as batch:
        batch.add_column(sa.Column("speaker_label", sa.String(16), nullable=True))
        batch.add_column(sa.Column("speaker_proposal", sa.JSON(), nullable=True))
    op.create_table(
        "voice_profile",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("embedding", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_voice_profile_person_id", "voice_profile", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_voice_profile_person_id", "voice_profile")
    op.drop_table("voice_profile")
    with op.batch_alter_table("transcript_segment") as batch:
        batch.drop_column("speaker_proposal")
        batch.drop_column("speaker_label")
