"""Database tables. Timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    LargeBinary,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from mailgate.table_base import Table

# PostgreSQL's own names for unnamed constraints, so that the databases created before migrations
# (create_all, unnamed constraints) and those the migrations build have the same names: migrations
# must name a constraint to drop or change it.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
    "ck": "%(table_name)s_%(constraint_name)s_check",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every database: SQLite has no time zones and hands back naive
    values, which would silently shift by the shop's offset when converted."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: mailgate stores aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


class MessageState:
    RECEIVED = "received"
    PROCESSING = "processing"  # claimed by a worker (claimed_by) until lease_until
    APPLIED = "applied"
    HELD = "held"
    IGNORED = "ignored"
    FAILED = "failed"
    # A change or cancel that arrived before its booking: applied when the booking arrives, held
    # for an operator after [notices] defer_hours.
    DEFERRED = "deferred"
    FINAL = (APPLIED, HELD, IGNORED, FAILED)


class Message(Table, table=True):
    """One stored inbound message for one local recipient."""

    __table_args__ = (UniqueConstraint("dedupe_key", "rcpt"),)

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique (dedupe_key, rcpt) begins with it, and a second index cost
    # intake a page written per message.
    dedupe_key: str = Field(max_length=64)
    rcpt: str = Field(max_length=320)
    mail_from: str | None = Field(default=None, max_length=320)  # envelope sender; None when unknown
    via: str = Field(max_length=16)  # smtp | imap | file
    # The SMTP client it came from (the original one, as a front MTA names it): replies and new
    # customers are limited per client. None for IMAP and files.
    client: str | None = Field(default=None, max_length=64, index=True)
    spool_path: str = Field(max_length=200)  # relative to the spool directory
    size: int
    header_message_id: str = Field(default="", max_length=998)
    from_addr: str = Field(default="", max_length=320, index=True)
    subject: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    state: str = Field(default=MessageState.RECEIVED, max_length=16, index=True)
    reason: str = Field(default="", sa_type=Text)
    attempts: int = 0  # times a worker took it
    # Times its reader process died reading it (the message's own doing): the third sets it aside.
    strikes: int = 0
    lost_leases: int = 0  # times its worker's lease ran out (the node died or hung): the tenth does
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts()  # the database's clock
    retry_at: datetime | None = _ts()  # after an error of our own (disk full, database gone)
    processed_at: datetime | None = _ts()
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    traceback: str | None = Field(default=None, sa_type=Text)
    waiting_for: str | None = Field(default=None, max_length=200, index=True)  # "SOURCE:EXTERNAL_ID"
    # The vendor notice it carried, whatever the wrapper (attached, pasted, redirected), once applied:
    # the same notice in another wrapper applies once.
    notice_key: str | None = Field(default=None, max_length=64, index=True)


class RawMessage(Table, table=True):
    """A stored message's bytes, when they live in the database (PostgreSQL: every node reads them)."""

    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_type=LargeBinary)
    size: int


class CustomerStatus:
    PENDING = "pending"  # sent a blank mail, has not registered yet
    ACTIVE = "active"  # registered by mail: has a PIN and a personal link
    LEDGER = "ledger"  # known from the ledger (a vendor notice, a phone call); not registered by mail
    DELETED = "deleted"
    MERGED = "merged"  # its bookings, mail and addresses moved to customer.merged_into


class Customer(Table, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(default="", max_length=320, index=True)  # email 1, exactly as received
    email_key: str | None = Field(default=None, max_length=320, unique=True)  # lowercased; None: no email
    status: str = Field(default=CustomerStatus.PENDING, max_length=16)
    # Indexed: a notice's customer is matched by phone, address, or name and reading, in one query
    # that reads every customer if any of the three has no index.
    name: str = Field(default="", max_length=100, index=True)
    name_kana: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=20, index=True)
    pin_hash: str = Field(default="", max_length=200)
    pin_failures: int = 0
    locked_until: datetime | None = _ts()
    lockouts: int = 0  # locks in a row (no right PIN between): each lasts twice as long
    memo: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    registered_at: datetime | None = _ts()
    # A hard bounce (or [mail] soft_bounces soft ones in soft_bounce_days) of mail to `email`: no
    # automatic mail goes to it until the customer writes in again or registers again.
    unreachable_since: datetime | None = _ts(index=True)
    unreachable_reason: str = Field(default="", max_length=400)
    soft_bounces: int = 0  # in the window that began at soft_bounces_since
    soft_bounces_since: datetime | None = _ts()
    merged_into: int | None = Field(default=None, foreign_key="customer.id")  # status MERGED: the one kept


class Token(Table, table=True):
    """The server side of a signed link: what it is for, when it expires, whether it was used."""

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    # Indexed: the hourly limits count the links made in the last hour, which must not read them all.
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    expires_at: datetime | None = _ts()
    used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    message_id: int | None = Field(default=None, foreign_key="message.id")
    pin_failures: int = 0  # wrong PINs typed through this (login) link: revoked at the cap
    # A link about one booking (confirm, change, cancel) works for the version it was mailed for.
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)
    booking_version: int | None = None


class Event(Table, table=True):
    """One audit entry: when, what, on whom, caused by which message, link or operator."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=100)  # message:ID | link:PURPOSE:ID | operator:NAME | system
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    token_id: int | None = Field(default=None, foreign_key="token.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class OutboxState:
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender (claimed_by) until lease_until
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # never sent: automatic mail to an address that bounced (last_error says)
    WITHDRAWN = "withdrawn"  # no longer true (a reminder for a booking since moved): never sent


class Outbox(Table, table=True):
    """A mail to send, written in the same transaction as the change that caused it."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    to_addr: str = Field(max_length=320)
    to_key: str = Field(max_length=320, index=True)  # the mailbox (mail.addresses.mailbox_key), for the cap
    template: str = Field(max_length=60)
    subject: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)  # links in it are placeholders: see `links`
    # placeholder -> [purpose, token id]: the sender signs the URL into the mail as it sends it.
    links: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    header_message_id: str = Field(max_length=200)
    in_reply_to: str = Field(default="", max_length=998)
    references: str = Field(default="", sa_type=Text)  # space-separated, no brackets
    reply_address: str = Field(default="", max_length=320)  # Reply-To: a booking dialog's own address
    calendar: str = Field(default="", sa_type=Text)  # an iCalendar event, attached as booking.ics
    cause_message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    capped: bool = False  # an automatic reply to an unknown or unverified sender: counts for the caps
    state: str = Field(default=OutboxState.QUEUED, max_length=16, index=True)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts()  # the database's clock
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    last_error: str = Field(default="", sa_type=Text)
    sent_at: datetime | None = _ts()


class StaffAlert(Table, table=True):
    """An alert for staff waiting for its interval's mail ([shop] staff_alert_minutes): rendered when
    raised, deleted once it is in an outbox row for every staff address."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    subject: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")


class BookingStatus:
    TENTATIVE = "tentative"  # 仮予約: holds its seat until confirmed by its link, or until expires_at
    APPLICATION = "application"  # 仮申込: holds nothing; the shop confirms it later
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # a tentative booking not confirmed in time: its seat went back
    LIVE = (TENTATIVE, APPLICATION, CONFIRMED)
    HOLDING = (TENTATIVE, CONFIRMED)  # these keep a seat


class Booking(Table, table=True):
    """One appointment on the shop's ledger, from any channel."""

    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)  # stores | salonboard | airreserve | phone | web | ...
    external_id: str | None = Field(default=None, max_length=64)  # the vendor's reservation number
    # A form's or a caller's key: a double-submitted form books once.
    idempotency_key: str | None = Field(default=None, max_length=100, unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    start: datetime = Field(sa_type=UTCDateTime(), index=True)
    end: datetime = Field(sa_type=UTCDateTime())
    staff: str | None = Field(default=None, max_length=100)  # canonical name; None = no one named
    menu: str = Field(default="", max_length=200)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")  # when the staff is on the roster
    menu_id: int | None = Field(default=None, foreign_key="menu.id")
    slot_id: int | None = Field(default=None, foreign_key="fixedslot.id")  # a fixed slot's seat
    status: str = Field(default=BookingStatus.CONFIRMED, max_length=16, index=True)
    expires_at: datetime | None = _ts()  # a tentative booking's seat goes back then
    version: int = 1  # +1 on every change: links mailed for an older version stop working
    price: int = 0
    note: str = Field(default="", sa_type=Text)
    # A guest's hold (仮予約 on the public page): the web client it came from, for the guest limits.
    client: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    message_id: int | None = Field(default=None, foreign_key="message.id")  # the notice that made it
    notice_at: datetime | None = _ts()  # the vendor's signed time of the newest notice applied to it
    moved_at: datetime | None = _ts()  # when a change last moved it


class Conflict(Table, table=True):
    """A booking recorded despite a clash (double booking, day off, closed): staff must act."""

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    message_id: int | None = Field(default=None, foreign_key="message.id")
    resolved_at: datetime | None = _ts(index=True)
    resolved_by: str = Field(default="", max_length=100)
    resolution: str = Field(default="", sa_type=Text)


class InquiryStatus:
    OPEN = "open"
    WAITING = "waiting"  # for the customer
    DONE = "done"
    ALL = (OPEN, WAITING, DONE)


class Inquiry(Table, table=True):
    """A question or a booking request that arrived through a vendor's inquiry form."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    message_id: int | None = Field(default=None, foreign_key="message.id", unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    name: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=320)
    body: str = Field(default="", sa_type=Text)
    kind: str = Field(max_length=20)  # booking_request | question
    status: str = Field(default=InquiryStatus.OPEN, max_length=16, index=True)
    assignee: str = Field(default="", max_length=100)
    next_action_on: date | None = Field(default=None)
    booking_id: int | None = Field(default=None, foreign_key="booking.id")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class ImapState(Table, table=True):
    """How far IMAP intake got in one folder: UIDs mean something only with their UIDVALIDITY."""

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=400, unique=True)  # user@host/folder
    # IMAP UIDs and UIDVALIDITY are unsigned 32-bit: too big for a PostgreSQL integer.
    uidvalidity: int = Field(sa_type=BigInteger)
    last_uid: int = Field(default=0, sa_type=BigInteger)  # stored and flagged/moved up to here
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class JobRun(Table, table=True):
    """A periodic job's run for one period: the unique key makes it run once however many nodes run."""

    __table_args__ = (UniqueConstraint("job", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    period: str = Field(max_length=60)  # e.g. the shop's local date for a daily job
    node: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    result: str = Field(default="", sa_type=Text)


class ReplyKey(Table, table=True):
    """A booking mail's own reply address (book+KEY@) and Message-ID: what ties a customer's reply to
    the mail it answers (a list of free times, or a booking's confirmation), never the From alone."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=16, unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    header_message_id: str = Field(default="", max_length=200, index=True)  # of the mail that carries it
    menu: str = Field(default="", max_length=200)  # a list's menu
    # A list's numbered times, [{"start": ISO, "staff": name or null}], and what was asked, for a fresh list.
    offers: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    ask: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    booking_id: int | None = Field(default=None, foreign_key="booking.id")  # booked by it, or mailed about
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    expires_at: datetime = Field(sa_type=UTCDateTime())
    used_at: datetime | None = _ts()
    used_by_message_id: int | None = Field(default=None, foreign_key="message.id")
