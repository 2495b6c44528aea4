"""Raw messages in the database

With PostgreSQL several nodes share the work, so a stored message's bytes go into the database in
the transaction that stores its rows: every node reads them, with no shared disk. SQLite keeps
them as files in var/spool/ and leaves this table empty.

Revision 0004, after 0003.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "rawmessage",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("rawmessage_pkey")),
    )
