"""Claimed work, job runs, a booking's idempotency key

Messages and outbox rows are claimed (owner, lease on the database clock) instead of counted; a
message keeps the leases its workers lost (strikes) and when to try again after an error of our own.
Periodic jobs record each period's run, unique per job and period, so one node runs it. A booking may
carry an idempotency key (a double-submitted form books once).

Revision 0003, after 0002.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "jobrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column("period", sa.String(length=60), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("jobrun_pkey")),
        sa.UniqueConstraint("job", "period", name=op.f("jobrun_job_period_key")),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("booking_idempotency_key_key"), ["idempotency_key"])

    with op.batch_alter_table("message", schema=None) as batch_op:
        # Existing rows have lost no lease.
        batch_op.add_column(sa.Column("strikes", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.alter_column("strikes", server_default=None)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
