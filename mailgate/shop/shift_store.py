"""Shifts in the database: set one day, replace the whole table from a file, list it for export.
Every change bumps the calendar's version, so running nodes see it on their next look."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, col, delete, select

from mailgate import db
from mailgate.models import utcnow
from mailgate.shop import calendar_db
from mailgate.shop.calendar import Calendar
from mailgate.shop.calendar_db import VERSION
from mailgate.shop.shifts import Day
from mailgate.shop_tables import Shift, ShopSetting, StaffMember
from mailgate.times import WEEKDAYS, Span


def bump(session: Session) -> None:
    """A change to the calendar: running nodes rebuild their Calendar on the next look."""
    row = session.get(ShopSetting, VERSION) or ShopSetting(key=VERSION, value=0)
    row.value, row.updated_at = int(row.value or 0) + 1, utcnow()
    session.add(row)
    db.forget_kept(session, calendar_db.KEPT)


def day_key(when: Day) -> str:
    return WEEKDAYS[when] if isinstance(when, int) else when.isoformat()


def row(staff_id: int, when: Day, span: Span | None) -> Shift:
    return Shift(
        staff_id=staff_id,
        day_key=day_key(when),
        weekday=when if isinstance(when, int) else None,
        day=when if isinstance(when, date) else None,
        off=span is None,
        start=span[0] if span else None,
        end=span[1] if span else None,
    )


def set_shift(session: Session, cal: Calendar, name: str, when: Day, span: Span | None) -> bool:
    """`name` (canonical) works `span` on `when` (None: off); True when it replaced a row."""
    staff_id = cal.staff_ids[name]
    existing = session.exec(
        select(Shift).where(Shift.staff_id == staff_id, Shift.day_key == day_key(when))
    ).first()
    new = row(staff_id, when, span)
    if existing is not None:
        existing.off, existing.start, existing.end = new.off, new.start, new.end
        session.add(existing)
    else:
        session.add(new)
    bump(session)
    return existing is not None


def replace_all(session: Session, cal: Calendar, table: dict[tuple[str, Day], Span | None]) -> int:
    """The shifts become exactly `table` ((canonical name, day) -> span); returns the row count."""
    session.exec(delete(Shift))  # type: ignore[call-overload]
    for (name, when), span in table.items():
        session.add(row(cal.staff_ids[name], when, span))
    bump(session)
    return len(table)


def listing(session: Session) -> Iterable[tuple[Day, str, Span | None]]:
    """Every shift row as (day, staff, span), the usual week first, then by date."""
    stmt = (
        select(Shift, StaffMember)
        .join(StaffMember, col(StaffMember.id) == Shift.staff_id)
        .order_by(col(Shift.day).is_not(None), col(Shift.day), col(Shift.weekday), col(StaffMember.position))
    )
    for shift, staff in session.exec(stmt):
        when: Day = shift.day if shift.day is not None else (shift.weekday or 0)
        span = None if shift.off or shift.start is None or shift.end is None else (shift.start, shift.end)
        yield when, staff.name, span
