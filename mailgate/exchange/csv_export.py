"""The ledger as CSV that Excel in Japan opens as it is: UTF-8 with a BOM (or cp932 on request),
CRLF line ends, stable snake_case column names, times in the shop's zone with their offset, formulas
neutralized. Rows stream from the database a batch at a time: a shop's whole history never sits in
memory at once."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, BinaryIO

from sqlmodel import Session, col, select

from mailgate.exchange.cells import neutral, when
from mailgate.models import Booking, Customer, CustomerStatus, Event

BOOKINGS = (
    "booking_id",
    "source",
    "external_id",
    "status",
    "start",
    "end",
    "staff",
    "menu",
    "price",
    "customer_id",
    "customer_name",
    "customer_kana",
    "customer_phone",
    "customer_email",
    "note",
    "created_at",
    "updated_at",
)
CUSTOMERS = ("customer_id", "status", "name", "name_kana", "phone", "email", "memo", "created_at")
AUDIT = ("event_id", "at", "kind", "actor", "customer_id", "message_id", "booking_id", "detail")
COLUMNS = {"bookings": BOOKINGS, "customers": CUSTOMERS, "audit": AUDIT}
ENCODINGS = ("utf-8-sig", "cp932")
SUBSTITUTE = "〓"  # the geta mark: JIS's own sign for a character the code cannot hold
BATCH = 500


@dataclass(frozen=True)
class Substituted:
    """A cell cp932 could not hold as it was: `chars` became 〓. Row 1 is the header, as a
    spreadsheet numbers rows."""

    row: int
    column: str
    chars: str


@dataclass
class Written:
    rows: int = 0
    substituted: list[Substituted] = field(default_factory=list)


def span(first: date | None, last: date | None, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """[from the first day's midnight, to the midnight after the last day) in the shop's zone."""
    start = datetime.combine(first, time(), zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    return start, end


def _within(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """[since, until) on a time column; an open end where None."""
    conds: list[Any] = []
    if since is not None:
        conds.append(col(column) >= since)
    if until is not None:
        conds.append(col(column) < until)
    return conds


def booking_rows(
    session: Session, zone: tzinfo, since: datetime | None, until: datetime | None
) -> Iterator[list[str]]:
    """Bookings starting in [since, until), in start order, with their customer."""
    stmt = (
        select(Booking, Customer)
        .join(Customer, col(Booking.customer_id) == col(Customer.id), isouter=True)
        .where(*_within(Booking.start, since, until))
        .order_by(col(Booking.start), col(Booking.id))
        .execution_options(yield_per=BATCH)
    )
    for b, c in session.exec(stmt):
        yield [
            str(b.id),
            b.source,
            b.external_id or "",
            b.status,
            when(b.start, zone),
            when(b.end, zone),
            b.staff or "",
            b.menu,
            str(b.price),
            str(c.id) if c else "",
            c.name if c else "",
            c.name_kana if c else "",
            c.phone if c else "",
            c.email if c else "",
            b.note,
            when(b.created_at, zone),
            when(b.updated_at, zone),
        ]


def customer_rows(
    session: Session, zone: tzinfo, since: datetime | None, until: datetime | None
) -> Iterator[list[str]]:
    """Customers (not erased ones) created in [since, until), oldest first."""
    stmt = (
        select(Customer)
        .where(col(Customer.status) != CustomerStatus.DELETED)
        .where(*_within(Customer.created_at, since, until))
        .order_by(col(Customer.id))
        .execution_options(yield_per=BATCH)
    )
    for c in session.exec(stmt):
        row = [str(c.id), c.status, c.name, c.name_kana, c.phone, c.email, c.memo]
        yield [*row, when(c.created_at, zone)]


def audit_rows(
    session: Session, zone: tzinfo, since: datetime | None, until: datetime | None
) -> Iterator[list[str]]:
    """Audit events in [since, until), oldest first; `detail` as JSON."""
    stmt = (
        select(Event)
        .where(*_within(Event.at, since, until))
        .order_by(col(Event.at), col(Event.id))
        .execution_options(yield_per=BATCH)
    )
    for e in session.exec(stmt):
        booking = e.detail.get("booking_id") if isinstance(e.detail, dict) else None
        yield [
            str(e.id),
            when(e.at, zone),
            e.kind,
            e.actor,
            "" if e.customer_id is None else str(e.customer_id),
            "" if e.message_id is None else str(e.message_id),
            "" if booking is None else str(booking),
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True, default=str),
        ]


ROWS = {"bookings": booking_rows, "customers": customer_rows, "audit": audit_rows}


def _fit_cp932(cell: str, row: int, column: str, written: Written) -> str:
    try:
        cell.encode("cp932")
        return cell
    except UnicodeEncodeError:
        pass
    lost = [ch for ch in cell if not _cp932(ch)]
    written.substituted.append(Substituted(row, column, "".join(lost)))
    return "".join(ch if _cp932(ch) else SUBSTITUTE for ch in cell)


def _cp932(ch: str) -> bool:
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def write(out: BinaryIO, columns: Sequence[str], rows: Iterable[Sequence[str]], encoding: str) -> Written:
    """The header and the rows, each encoded as it goes. cp932: characters it cannot hold (𠮷, emoji)
    become 〓, each one listed in the result for the operator."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}: {' or '.join(ENCODINGS)}")
    codec = "cp932" if encoding == "cp932" else "utf-8"
    if encoding == "utf-8-sig":
        out.write(codecs.BOM_UTF8)  # how Excel knows the file is UTF-8
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    written = Written()

    def emit(cells: Sequence[str]) -> None:
        writer.writerow(cells)
        out.write(buffer.getvalue().encode(codec))
        buffer.seek(0)
        buffer.truncate()

    emit(columns)
    for number, row in enumerate(rows, start=2):
        cells = [neutral(cell) for cell in row]
        if codec == "cp932":
            cells = [_fit_cp932(c, number, name, written) for c, name in zip(cells, columns, strict=True)]
        emit(cells)
        written.rows += 1
    return written
