"""Lockouts and wrong PINs per link

A lock after wrong PINs lasted 30 minutes however often it came back (240 guesses a day): now each
lock in a row lasts twice as long (`customer.lockouts` counts them) and a personal link is revoked
after a number of wrong PINs (`token.pin_failures`). Both start at 0.

Revision 0009, after 0008.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    for table, column in (("customer", "lockouts"), ("token", "pin_failures")):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, server_default=None)
