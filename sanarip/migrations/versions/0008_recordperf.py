"""Record figures at a parliament's scale: a tally per faction per vote event, filled from the votes;
indexes for a deputy's votes (newest first), attendance and speeches

Revision ID: 0008_recordperf
Revises: 0005
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0008_recordperf"
down_revision = "0005"
branch_labels = None
depends_on = None

PRESENT = ("yes", "no", "abstain", "not voting")  # sanarip.votes.PRESENT when this was written


def upgrade() -> None:
    op.create_table(
        "vote_group_tally",
        sa.Column("vote_event_id", sa.Integer(), sa.ForeignKey("vote_event.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("yes", sa.Integer(), nullable=False),
        sa.Column("no", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(100)),
    )
    op.create_index("ix_vote_group_tally_range", "vote_group_tally",
                    ["group_id", "start_date", "yes", "no", "listed", "present"])
    op.create_index("ix_vote_event_start", "vote_event", ["start_date", "id"])
    op.create_index("ix_vote_person_event", "vote", ["person_id", "vote_event_id", "option"])
    op.drop_index("ix_vote_person_id", "vote")
    op.create_index("ix_segment_speaker", "transcript_segment", ["speaker_id"])
    present = ", ".join(f"'{o}'" for o in PRESENT)
    op.execute(
        "INSERT INTO vote_group_tally (vote_event_id, group_id, start_date, yes, no, listed, present) "
        "SELECT v.vote_event_id, v.group_id, ve.start_date, "
        "SUM(CASE WHEN v.option = 'yes' THEN 1 ELSE 0 END), SUM(CASE WHEN v.option = 'no' THEN 1 ELSE 0 END), "
        f"COUNT(*), SUM(CASE WHEN v.option IN ({present}) THEN 1 ELSE 0 END) "
        "FROM vote v JOIN vote_event ve ON ve.id = v.vote_event_id WHERE v.group_id IS NOT NULL "
        "GROUP BY v.vote_event_id, v.group_id, ve.start_date")
    # The faction's result is its first entry in the vote event's group_results (computed or as pushed).
    events = sa.table("vote_event", sa.column("id", sa.Integer()), sa.column("group_results", sa.JSON()))
    conn = op.get_bind()
    updates = []
    for event_id, groups in conn.execute(sa.select(events.c.id, events.c.group_results)):
        seen = set()
        for g in groups or []:
            found = re.fullmatch(r"organization/(\d+)", str(g.get("group_id") or ""))
            if found and found[1] == str(int(found[1])) and found[1] not in seen:
                seen.add(found[1])
                updates.append({"e": event_id, "g": int(found[1]), "r": g.get("result")})
    if updates:
        conn.execute(sa.text("UPDATE vote_group_tally SET result = :r WHERE vote_event_id = :e AND group_id = :g"),
                     updates)


def downgrade() -> None:
    op.drop_index("ix_segment_speaker", "transcript_segment")
    op.create_index("ix_vote_person_id", "vote", ["person_id"])
    op.drop_index("ix_vote_person_event", "vote")
    op.drop_index("ix_vote_event_start", "vote_event")
    op.drop_index("ix_vote_group_tally_range", "vote_group_tally")
    op.drop_table("vote_group_tally")
