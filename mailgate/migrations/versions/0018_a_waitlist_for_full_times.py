"""A waitlist for full times (キャンセル待ち)

A customer may wait for a full time; when a seat frees the first one waiting gets it held for a claim
link. One open entry per customer and time (open_key, NULL once the entry is settled). The table is
new: nothing to fill.

Revision 0018, after 0017.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("menu", sa.String(length=200), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("offer_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("waitlist_booking_id_fkey")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("waitlist_customer_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("waitlist_pkey")),
        sa.UniqueConstraint("open_key", name=op.f("waitlist_open_key_key")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_start"), ["start"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_state"), ["state"], unique=False)
