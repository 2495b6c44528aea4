"""Customers mail cannot reach: a hard bounce, or soft ones counted in a window

A delivery report of a mail to a customer (matched by the signed bounce+TOKEN@ return path) marks
their address as failing: no automatic mail goes to it until they write in or register again. Soft
bounces (mailbox full) are counted per customer and become a hard one after [mail] soft_bounces.

Revision 0016, after 0015.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unreachable_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("unreachable_reason", sa.String(length=400), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("soft_bounces", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("soft_bounces_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_customer_unreachable_since"), ["unreachable_since"], unique=False
        )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.alter_column("unreachable_reason", server_default=None)
        batch_op.alter_column("soft_bounces", server_default=None)
