"""Operator notes and saved phrases (the customer history's contact log)

Operators write notes on a customer with a status (waiting / in_progress / done), an assignee and a
next-action date; the work queue (`mailgate tasks`) reads the open ones. Saved phrases fill a note's
title and body. Both tables are new: nothing to fill.

Revision 0022, after 0021.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.create_table(
        "note_phrase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("note_phrase_pkey")),
        sa.UniqueConstraint("name", name=op.f("note_phrase_name_key")),
    )
    op.create_table(
        "customer_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("next_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("customer_note_customer_id_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("customer_note_pkey")),
    )
    with op.batch_alter_table("customer_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_note_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_note_next_on"), ["next_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_note_status"), ["status"], unique=False)
