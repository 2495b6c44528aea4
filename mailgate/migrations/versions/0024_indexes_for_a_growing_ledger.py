"""indexes for a growing ledger: customer.name, token.created_at

Processing slowed as a shop's ledger grew (a soak went from 75 to 20 messages a second): a notice's
customer is matched by phone, address, or name and reading in one query, and with no index on the
name that query read every customer; the hourly limits on new customers counted the links made in
the last hour by reading every link ever made. Indexes only: nothing to convert.

Revision 0024, after 0023.
"""

from alembic import op

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    op.create_index("ix_customer_name", "customer", ["name"], unique=False)
    op.create_index("ix_token_created_at", "token", ["created_at"], unique=False)
