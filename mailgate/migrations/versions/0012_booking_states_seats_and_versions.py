"""Booking states, seats and versions

Bookings made by customers need more than "booked": tentative (holds its seat until confirmed or
expired), application (holds nothing), confirmed, cancelled, expired. Today's `booked` becomes
`confirmed`. A booking may point at the staff member, menu and fixed slot of the calendar in the
database, carries its price, when a tentative one expires, and a version that every change bumps
(links mailed for an older version stop working).

Revision 0012, after 0011.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("menu_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("slot_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))
        batch_op.add_column(sa.Column("price", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.create_foreign_key(batch_op.f("booking_menu_id_fkey"), "menu", ["menu_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("booking_slot_id_fkey"), "fixedslot", ["slot_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("booking_staff_id_fkey"), "staff", ["staff_id"], ["id"])
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.alter_column("version", server_default=None)
        batch_op.alter_column("price", server_default=None)
    op.execute("UPDATE booking SET status = 'confirmed' WHERE status = 'booked'")
