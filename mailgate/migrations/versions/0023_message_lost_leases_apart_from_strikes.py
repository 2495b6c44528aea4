"""message: lost leases counted apart from strikes

A lease that ran out used to be a strike, and three set a message aside as poison; but a node
SIGKILLed (a deploy, the OOM killer, a power cut) with a good message in work loses its lease too.
Strikes now count only the reader processes the message itself killed; `lost_leases` counts the
rest. What was counted so far were lost leases: moved there, strikes start at 0.

Revision 0023, after 0022.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lost_leases", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.execute("UPDATE message SET lost_leases = strikes, strikes = 0")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.alter_column("lost_leases", server_default=None)
