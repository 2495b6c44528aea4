"""Reply keys: book+KEY@ and a Message-ID tie a customer's reply to the booking mail it answers

A list of free times mailed to a customer asks for a one-digit reply; the reply is tied to the list by
the list's own address (book+KEY@, in its Reply-To) or by In-Reply-To, never by the From alone. A
booking's confirmation gets one too, so that 「キャンセル」 in reply finds its booking. The table is new:
nothing to fill.

Revision 0014, after 0013.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.create_table(
        "replykey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("header_message_id", sa.String(length=200), nullable=False),
        sa.Column("menu", sa.String(length=200), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=True),
        sa.Column("ask", sa.JSON(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("replykey_booking_id_fkey")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("replykey_customer_id_fkey")),
        sa.ForeignKeyConstraint(
            ["used_by_message_id"], ["message.id"], name=op.f("replykey_used_by_message_id_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("replykey_pkey")),
        sa.UniqueConstraint("key", name=op.f("replykey_key_key")),
    )
    with op.batch_alter_table("replykey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replykey_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_replykey_header_message_id"), ["header_message_id"], unique=False
        )
