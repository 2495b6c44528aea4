"""Per-menu add-ons with their own stock (タオルレンタル), and questions asked at booking

An add-on's items are held for a booking's time by seat claims (resource "addon:<id>#<item>"), so no
more are handed out at once than exist; booking_addon records which item a booking holds and the
price it was booked at. A menu's questions are a JSON column (NULL: none, as for every menu so far);
booking_answer keeps each booking's answers. The tables are new: nothing to fill.

Revision 0019, after 0018.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.create_table(
        "addon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("menu_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["menu_id"], ["menu.id"], name=op.f("addon_menu_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("addon_pkey")),
        sa.UniqueConstraint("menu_id", "name", name=op.f("addon_menu_id_name_key")),
    )
    with op.batch_alter_table("addon", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_addon_menu_id"), ["menu_id"], unique=False)

    op.create_table(
        "booking_addon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("addon_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["addon_id"], ["addon.id"], name=op.f("booking_addon_addon_id_fkey")),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("booking_addon_booking_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("booking_addon_pkey")),
        sa.UniqueConstraint("booking_id", "addon_id", name=op.f("booking_addon_booking_id_addon_id_key")),
    )
    with op.batch_alter_table("booking_addon", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_addon_booking_id"), ["booking_id"], unique=False)

    op.create_table(
        "booking_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("answer", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("booking_answer_booking_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("booking_answer_pkey")),
    )
    with op.batch_alter_table("booking_answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_answer_booking_id"), ["booking_id"], unique=False)

    with op.batch_alter_table("menu", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questions", sa.JSON(), nullable=True))
