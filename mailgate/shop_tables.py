"""The shop's calendar as database tables: staff, menus, hours, exceptional days, shifts, fixed slots,
and the seat claims that keep two bookings off one seat.

After an import (`mailgate shop import`, or the creation of a database) the database is what counts;
`shop/calendar.py` turns these rows into one frozen `Calendar` value.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from mailgate.models import UTCDateTime, utcnow
from mailgate.table_base import Table


class StaffMember(Table, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)  # canonical
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    position: int = 0  # the order people see: first is first offered for "anyone"
    active: bool = True


class MenuItem(Table, table=True):
    __tablename__ = "menu"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    minutes: int = 60
    buffer_minutes: int = 0  # kept free after each booking (cleaning, notes)
    price: int = 0  # yen, tax included
    kind: str = Field(default="free", max_length=10)  # free (a start on the grid) | slots (fixed)
    confirm: str = Field(default="instant", max_length=12)  # instant | tentative | application
    grid_minutes: int = 15
    ahead_days: int = 60  # how far ahead one may book
    # Deadlines for customers (by link or mail): "0" until the start, "90m" before, "1d18:00" the day
    # before at 18:00. Later than that, the shop's phone number.
    book_until: str = Field(default="0", max_length=20)
    change_until: str = Field(default="0", max_length=20)
    cancel_until: str = Field(default="0", max_length=20)
    staff: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = all
    # Reminder offsets in the deadline rules' words ("1d18:00", "2h"); None: [booking] reminders.
    reminders: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Asked when it is booked: [{"text", "kind" (choice|checkbox|text), "options", "required"}].
    questions: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    position: int = 0
    active: bool = True


class Addon(Table, table=True):
    """An option booked with a menu (タオルレンタル), `stock` items of it: each item is held for a
    booking's time like a seat (ledger/addons.py), so never more are handed out at once than exist."""

    __tablename__ = "addon"
    __table_args__ = (UniqueConstraint("menu_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    menu_id: int = Field(foreign_key="menu.id", index=True)
    name: str = Field(max_length=100)
    price: int = 0  # yen, tax included
    stock: int = 1
    position: int = 0
    active: bool = True


class BookingAddon(Table, table=True):
    """An add-on a booking took: which item of the stock it holds and the price it was booked at."""

    __tablename__ = "booking_addon"
    __table_args__ = (UniqueConstraint("booking_id", "addon_id"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    addon_id: int = Field(foreign_key="addon.id")
    item: int = 0  # 0 .. stock-1
    price: int = 0


class BookingAnswer(Table, table=True):
    """The answer to one of the menu's questions, kept with the booking as asked and answered."""

    __tablename__ = "booking_answer"

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    position: int = 0
    question: str = Field(max_length=200)
    answer: str = Field(default="", max_length=1000)


class WeekHours(Table, table=True):
    """Opening hours per weekday (0 = Monday); weekday 7 is the hours of holidays. No row: closed."""

    __tablename__ = "weekhours"

    weekday: int = Field(primary_key=True)
    opens: time
    closes: time  # not after `opens`: past midnight
    breaks: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ShopDay(Table, table=True):
    """One date unlike the others: a holiday (the holiday hours, else closed: 年末年始), closed
    (臨時休業), other hours, or more or fewer seats."""

    __tablename__ = "shopday"

    day: date = Field(primary_key=True)
    holiday: bool = False
    closed: bool = False
    opens: time | None = None
    closes: time | None = None
    breaks: list[list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    seats_delta: int = 0  # fixed slots of that day get this many more (or fewer) seats
    note: str = Field(default="", max_length=200)


class Shift(Table, table=True):
    """Who works when: a weekly pattern (weekday) and per-day changes (day); exactly one is set, and
    `day_key` names it ("mon".."sun" or "2026-12-03") so one person has one row per day or weekday."""

    __tablename__ = "shift"
    __table_args__ = (UniqueConstraint("staff_id", "day_key"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    day_key: str = Field(max_length=10)
    weekday: int | None = None
    day: date | None = Field(default=None, index=True)
    off: bool = False
    start: time | None = None
    end: time | None = None  # not after `start`: past midnight


class FixedSlot(Table, table=True):
    """A time the shop sets for a menu, with its seats (a class 10:00-11:00 for 8)."""

    __tablename__ = "fixedslot"

    id: int | None = Field(default=None, primary_key=True)
    menu_id: int = Field(foreign_key="menu.id", index=True)
    start: datetime = Field(sa_type=UTCDateTime(), index=True)
    end: datetime = Field(sa_type=UTCDateTime())
    seats: int = 1
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    note: str = Field(default="", max_length=200)


class SeatClaim(Table, table=True):
    """One unit of a seat a booking holds. The unique key is the guard against overbooking: a staff
    member's 5-minute grains ("staff:3", grain index) or a fixed slot's seats ("slot:17", seat no.)."""

    __tablename__ = "seatclaim"
    __table_args__ = (UniqueConstraint("resource", "unit"),)

    id: int | None = Field(default=None, primary_key=True)
    resource: str = Field(max_length=40)
    unit: int
    booking_id: int = Field(foreign_key="booking.id", index=True)


class ShopSetting(Table, table=True):
    """Settings of the calendar that are not rows of their own (public holidays, the version)."""

    __tablename__ = "shopsetting"

    key: str = Field(primary_key=True, max_length=60)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
