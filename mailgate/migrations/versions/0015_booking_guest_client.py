"""Guest holds: the web client a guest booked from

A guest (no registration) books a tentative hold on the public page; holds are limited per email, per
client and in total, so the booking keeps the client address it came from. NULL for every other booking.

Revision 0015, after 0014.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client", sa.String(length=64), nullable=True))
