"""The tables of mailgate before it had migrations (commit 8356a80), exactly as its
`SQLModel.metadata.create_all` made them, with the constraint names PostgreSQL gave them then.

A database made before migrations is stamped with this revision, not run through it. Written out
here, not taken from the models, so that later changes to the models do not change it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_kana", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("customer_pkey")),
        sa.UniqueConstraint("email_key", name=op.f("customer_email_key_key")),
    )
    op.create_index("ix_customer_email", "customer", ["email"])
    op.create_index("ix_customer_phone", "customer", ["phone"])
    op.create_table(
        "imapstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("imapstate_pkey")),
        sa.UniqueConstraint("mailbox", name=op.f("imapstate_mailbox_key")),
    )
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("rcpt", sa.String(length=320), nullable=False),
        sa.Column("mail_from", sa.String(length=320), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("spool_path", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("header_message_id", sa.String(length=998), nullable=False),
        sa.Column("from_addr", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("waiting_for", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("message_pkey")),
        sa.UniqueConstraint("dedupe_key", "rcpt", name=op.f("message_dedupe_key_rcpt_key")),
    )
    op.create_index("ix_message_dedupe_key", "message", ["dedupe_key"])
    op.create_index("ix_message_from_addr", "message", ["from_addr"])
    op.create_index("ix_message_received_at", "message", ["received_at"])
    op.create_index("ix_message_state", "message", ["state"])
    op.create_index("ix_message_waiting_for", "message", ["waiting_for"])
    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff", sa.String(length=100), nullable=True),
        sa.Column("menu", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("booking_customer_id_fkey")),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("booking_message_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("booking_pkey")),
        sa.UniqueConstraint("source", "external_id", name=op.f("booking_source_external_id_key")),
    )
    op.create_index("ix_booking_customer_id", "booking", ["customer_id"])
    op.create_index("ix_booking_start", "booking", ["start"])
    op.create_index("ix_booking_status", "booking", ["status"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("to_addr", sa.String(length=320), nullable=False),
        sa.Column("to_key", sa.String(length=320), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("header_message_id", sa.String(length=200), nullable=False),
        sa.Column("in_reply_to", sa.String(length=998), nullable=False),
        sa.Column("references", sa.Text(), nullable=False),
        sa.Column("cause_message_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cause_message_id"], ["message.id"], name=op.f("outbox_cause_message_id_fkey")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("outbox_customer_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("outbox_pkey")),
    )
    op.create_index("ix_outbox_cause_message_id", "outbox", ["cause_message_id"])
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_index("ix_outbox_state", "outbox", ["state"])
    op.create_index("ix_outbox_to_key", "outbox", ["to_key"])
    op.create_table(
        "token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("token_customer_id_fkey")),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("token_message_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("token_pkey")),
    )
    op.create_index("ix_token_customer_id", "token", ["customer_id"])
    op.create_table(
        "conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("conflict_booking_id_fkey")),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("conflict_message_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("conflict_pkey")),
    )
    op.create_index("ix_conflict_booking_id", "conflict", ["booking_id"])
    op.create_index("ix_conflict_resolved_at", "conflict", ["resolved_at"])
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("event_customer_id_fkey")),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("event_message_id_fkey")),
        sa.ForeignKeyConstraint(["token_id"], ["token.id"], name=op.f("event_token_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("event_pkey")),
    )
    op.create_index("ix_event_at", "event", ["at"])
    op.create_index("ix_event_customer_id", "event", ["customer_id"])
    op.create_index("ix_event_message_id", "event", ["message_id"])
    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("next_action_on", sa.Date(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("inquiry_booking_id_fkey")),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("inquiry_customer_id_fkey")),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name=op.f("inquiry_message_id_fkey")),
        sa.PrimaryKeyConstraint("id", name=op.f("inquiry_pkey")),
        sa.UniqueConstraint("message_id", name=op.f("inquiry_message_id_key")),
    )
    op.create_index("ix_inquiry_customer_id", "inquiry", ["customer_id"])
    op.create_index("ix_inquiry_received_at", "inquiry", ["received_at"])
    op.create_index("ix_inquiry_status", "inquiry", ["status"])
