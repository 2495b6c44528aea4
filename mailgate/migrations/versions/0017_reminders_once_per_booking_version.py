"""Reminders: once per booking version, and per-menu offsets

A reminder row per (booking, kind, version), unique, inserted in the transaction that queues its mail:
that key, not the scheduler's memory, is what sends each reminder once across nodes and restarts.
Menus get their own reminder offsets (NULL: the shop's [booking] reminders). Outbox rows may now be
"withdrawn" (a string state: no schema change).

Revision 0017, after 0016.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("reminder_booking_id_fkey")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("reminder_outbox_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("reminder_pkey")),
        sa.UniqueConstraint(
            "booking_id", "kind", "version", name=op.f("reminder_booking_id_kind_version_key")
        ),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_booking_id"), ["booking_id"], unique=False)
    with op.batch_alter_table("menu", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders", sa.JSON(), nullable=True))
