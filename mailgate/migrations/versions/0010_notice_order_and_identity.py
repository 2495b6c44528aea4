"""Vendor notices in order, and once

A change older than the last one applied to a booking must not move it back: the booking keeps the
vendor's signed time of the newest notice applied (notice_at) and when a change last moved it
(moved_at). A notice applies once whatever wrapper it comes in: the message keeps the key of the
notice it carried (notice_key). Existing rows get NULL: nothing is known about their order.

Revision 0010, after 0009.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("notice_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("notice_key", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_message_notice_key"), ["notice_key"], unique=False)
