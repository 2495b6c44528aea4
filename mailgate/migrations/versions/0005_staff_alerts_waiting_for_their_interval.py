"""Staff alerts waiting for their interval

Alerts for staff are grouped: at most one mail per address and [shop] staff_alert_minutes. An alert
raised after its interval's mail waits here, rendered, until the next interval's mail takes it.

Revision 0005, after 0004.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "staffalert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("staffalert_customer_id_fkey")),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("staffalert_message_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("staffalert_pkey")),
    )
    with op.batch_alter_table("staffalert") as batch_op:
        batch_op.create_index(batch_op.f("ix_staffalert_customer_id"), ["customer_id"], unique=False)
