"""Customers: extra addresses, and a merged customer pointing at the one kept

A customer who changed phones writes from a new address: the operator links it (customeraddress, an
address belongs to one customer only) and mail from it reaches the same customer. Merging two
customers keeps the merged one as status "merged" with merged_into, so rows that name its id (links,
audit) still lead somewhere. Both are new: nothing to fill.

Revision 0020, after 0019.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.create_table(
        "customeraddress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("customeraddress_customer_id_fkey")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("customeraddress_pkey")),
        sa.UniqueConstraint("email_key", name=op.f("customeraddress_email_key_key")),
    )
    with op.batch_alter_table("customeraddress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customeraddress_customer_id"), ["customer_id"], unique=False)

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("customer_merged_into_fkey"), "customer", ["merged_into"], ["id"]
        )
