"""message.dedupe_key's own index dropped

The unique (dedupe_key, rcpt) begins with dedupe_key, so every lookup by it (intake's dedupe of a
redelivery) already has an index; the second one only cost intake a page written per stored
message (README "SMTP intake"). An index only: nothing to convert.

Revision 0025, after 0024.
"""

from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    op.drop_index("ix_message_dedupe_key", table_name="message")
