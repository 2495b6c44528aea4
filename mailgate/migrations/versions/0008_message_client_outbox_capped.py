"""Message client, outbox capped

Automatic replies are limited per SMTP client and in all, not only per address: a message keeps the
client it came from (None for IMAP and files), and an outbox row says whether it was such a reply
(`capped`: counted by the limits) or mail the shop owes a customer who acted through a link. The
rows already queued were replies to blank mails when they are registration or settings links.

Revision 0008, after 0007.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.add_column(sa.Column("client", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_message_client"), ["client"], unique=False)

    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("capped", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE outbox SET capped = true WHERE template IN ('register_link', 'settings_link')")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("capped", server_default=None)
