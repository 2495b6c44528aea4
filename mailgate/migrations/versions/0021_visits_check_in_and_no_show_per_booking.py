"""Visits: check-in and no-show per booking (来訪チェック)

An operator marks whether the customer of a booking came; no-shows are counted per customer through
the booking. The table is new: nothing to fill.

Revision 0021, after 0020.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    op.create_table(
        "visit",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("visit_booking_id_fkey")),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("visit_pkey")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_state"), ["state"], unique=False)
