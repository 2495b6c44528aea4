"""Database tables. Timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable, index=index)


class MessageState:
    RECEIVED = "received"
    APPLIED = "applied"
    HELD = "held"
    IGNORED = "ignored"
    FAILED = "failed"
    FINAL = (APPLIED, HELD, IGNORED, FAILED)


class Message(SQLModel, table=True):
    """One stored inbound message for one local recipient."""

    __table_args__ = (UniqueConstraint("dedupe_key", "rcpt"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=64, index=True)
    rcpt: str = Field(max_length=320)
    mail_from: str | None = Field(default=None, max_length=320)  # envelope sender; None when unknown
    via: str = Field(max_length=16)  # smtp | imap | file
    spool_path: str = Field(max_length=200)  # relative to the spool directory
    size: int
    header_message_id: str = Field(default="", max_length=998)
    from_addr: str = Field(default="", max_length=320, index=True)
    subject: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    state: str = Field(default=MessageState.RECEIVED, max_length=16, index=True)
    reason: str = Field(default="", sa_type=Text)
    attempts: int = 0
    processed_at: datetime | None = _ts()
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    traceback: str | None = Field(default=None, sa_type=Text)


class CustomerStatus:
    PENDING = "pending"
    ACTIVE = "active"
    DELETED = "deleted"


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)  # exactly as received
    email_key: str = Field(max_length=320, unique=True)  # lowercased, for lookups
    status: str = Field(default=CustomerStatus.PENDING, max_length=16)
    name: str = Field(default="", max_length=100)
    name_kana: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=20, index=True)
    pin_hash: str = Field(default="", max_length=200)
    pin_failures: int = 0
    locked_until: datetime | None = _ts()
    memo: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    registered_at: datetime | None = _ts()


class Token(SQLModel, table=True):
    """The server side of a signed link: what it is for, when it expires, whether it was used."""

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    expires_at: datetime | None = _ts()
    used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    message_id: int | None = Field(default=None, foreign_key="message.id")


class Event(SQLModel, table=True):
    """One audit entry: when, what, on whom, caused by which message, link or operator."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=100)  # message:ID | link:PURPOSE:ID | operator:NAME | system
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    token_id: int | None = Field(default=None, foreign_key="token.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class OutboxState:
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class Outbox(SQLModel, table=True):
    """A mail to send, written in the same transaction as the change that caused it."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    to_addr: str = Field(max_length=320)
    to_key: str = Field(max_length=320, index=True)  # lowercased, for the per-address cap
    template: str = Field(max_length=60)
    subject: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    header_message_id: str = Field(max_length=200)
    in_reply_to: str = Field(default="", max_length=998)
    references: str = Field(default="", sa_type=Text)  # space-separated, no brackets
    cause_message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    state: str = Field(default=OutboxState.QUEUED, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    last_error: str = Field(default="", sa_type=Text)
    sent_at: datetime | None = _ts()
