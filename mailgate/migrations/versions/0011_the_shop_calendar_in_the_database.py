"""The shop's calendar in the database

Staff, menus, opening hours, exceptional days, shifts and fixed slots move from mailgate.toml into
the database (`mailgate shop import` reads the [shop] section once; after that the database counts),
with the seat claims whose unique key keeps two bookings off one seat, and the calendar's settings.

Revision 0011, after 0010.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "menu",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("confirm", sa.String(length=12), nullable=False),
        sa.Column("grid_minutes", sa.Integer(), nullable=False),
        sa.Column("ahead_days", sa.Integer(), nullable=False),
        sa.Column("book_until", sa.String(length=20), nullable=False),
        sa.Column("change_until", sa.String(length=20), nullable=False),
        sa.Column("cancel_until", sa.String(length=20), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("menu_pkey")),
        sa.UniqueConstraint("name", name=op.f("menu_name_key")),
    )
    op.create_table(
        "shopday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("holiday", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=True),
        sa.Column("closes", sa.Time(), nullable=True),
        sa.Column("breaks", sa.JSON(), nullable=True),
        sa.Column("seats_delta", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("shopday_pkey")),
    )
    op.create_table(
        "shopsetting",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("shopsetting_pkey")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("staff_pkey")),
        sa.UniqueConstraint("name", name=op.f("staff_name_key")),
    )
    op.create_table(
        "weekhours",
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.Column("breaks", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("weekday", name=op.f("weekhours_pkey")),
    )
    op.create_table(
        "fixedslot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("menu_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["menu_id"], ["menu.id"], name=op.f("fixedslot_menu_id_fkey")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fixedslot_staff_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("fixedslot_pkey")),
    )
    with op.batch_alter_table("fixedslot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fixedslot_menu_id"), ["menu_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fixedslot_start"), ["start"], unique=False)

    op.create_table(
        "shift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("day_key", sa.String(length=10), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("off", sa.Boolean(), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("end", sa.Time(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("shift_staff_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("shift_pkey")),
        sa.UniqueConstraint("staff_id", "day_key", name=op.f("shift_staff_id_day_key_key")),
    )
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_shift_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "seatclaim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("seatclaim_booking_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("seatclaim_pkey")),
        sa.UniqueConstraint("resource", "unit", name=op.f("seatclaim_resource_unit_key")),
    )
    with op.batch_alter_table("seatclaim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seatclaim_booking_id"), ["booking_id"], unique=False)
