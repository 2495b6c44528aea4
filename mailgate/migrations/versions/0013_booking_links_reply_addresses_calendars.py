"""Booking links, reply addresses, calendars

A link about one booking (confirm a tentative one, change, cancel) points at the booking and the
version it was mailed for, so a link from before a change stops working. An outgoing mail may carry a
Reply-To of its own (a booking dialog's per-list address) and an iCalendar event (booking.ics).

Revision 0013, after 0012.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_address", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("calendar", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("reply_address", server_default=None)
        batch_op.alter_column("calendar", server_default=None)
    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booking_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("booking_version", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_token_booking_id"), ["booking_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("token_booking_id_fkey"), "booking", ["booking_id"], ["id"])
