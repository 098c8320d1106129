"""sitting.live_partial: the live draft's words not yet committed

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sitting", sa.Column("live_partial", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sitting") as batch:
        batch.drop_column("live_partial")
