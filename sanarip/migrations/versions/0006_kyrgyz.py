"""Kyrgyz: segments that still need a human transcription; per-committee languages and language models

Revision ID: 0006
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transcript_segment") as batch:
        batch.add_column(sa.Column("needs_transcription", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("committee") as batch:
        batch.add_column(sa.Column("languages", sa.String(64), nullable=True))
        batch.add_column(sa.Column("language_models", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("committee") as batch:
        batch.drop_column("language_models")
        batch.drop_column("languages")
    with op.batch_alter_table("transcript_segment") as batch:
        batch.drop_column("needs_transcription")
