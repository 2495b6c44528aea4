"""The shop's calendar as one frozen value: staff and menus by the names vendors use, hours, breaks,
holidays, exceptional days, shifts and fixed slots. Built from the database (shop/calendar_db.py) or,
for `mailgate shop import`, from the [shop] section of mailgate.toml.

The shop's hours on a day, first match wins: an exceptional day (shopday row); a holiday (a [shop]
holiday, or a Japanese public holiday when the shop keeps them) with the holiday hours, else closed;
the weekday's hours.
Which hours a staff member works on a day, first match wins:
  1. a dated row of the shift table;
  2. off, on a holiday when the shop is closed;
  3. their default week, when they have weekday rows (a weekday without a row is a day off);
  4. the shop's opening hours (also the rule for staff with no rows at all).
Times are wall-clock times in the shop's time zone; a span whose end is not after its start runs past
midnight into the next day.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import jpholiday

from mailgate.shop import shifts as shifts_mod
from mailgate.shop.shifts import Day, ShiftRow
from mailgate.times import WEEKDAYS, Span, name_key, parse_hours

if TYPE_CHECKING:
    from mailgate.config import ShopSection

# The opening hours of a shop that configures none: every booking is inside them.
ALL_DAY: Span = (time.min, time.max)
DEFAULT_MINUTES = 60


@dataclass(frozen=True)
class AddonOption:
    """An option of a menu with its stock (shop_tables.Addon); id None: read from the config only."""

    name: str
    price: int = 0
    stock: int = 1
    id: int | None = None


@dataclass(frozen=True)
class Question:
    """A question asked when the menu is booked (shop_tables.MenuItem.questions)."""

    text: str
    kind: str = "text"  # choice | checkbox | text
    options: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Menu:
    name: str
    minutes: int
    aliases: tuple[str, ...] = ()
    id: int | None = None
    buffer: int = 0  # minutes kept free after it
    price: int = 0
    kind: str = "free"  # free | slots
    confirm: str = "instant"  # instant | tentative | application
    grid: int = 15
    ahead_days: int = 60
    book_until: str = "0"
    change_until: str = "0"
    cancel_until: str = "0"
    staff: tuple[str, ...] = ()  # who can do it; () = everyone
    reminders: tuple[str, ...] | None = None  # offset rules; None: the shop's [booking] reminders
    addons: tuple[AddonOption, ...] = ()
    questions: tuple[Question, ...] = ()

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class DayRule:
    """One date unlike the others."""

    span: Span | None  # None: closed
    breaks: tuple[Span, ...] = ()
    seats_delta: int = 0


@dataclass(frozen=True)
class FixedTime:
    """A time the shop set for a menu, with its seats."""

    id: int
    menu: str
    start: datetime
    end: datetime
    seats: int
    staff: str | None = None


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    staff: tuple[str, ...] = ()  # canonical names; empty: names are taken as written, no roster checks
    menus: tuple[Menu, ...] = ()
    week: tuple[Span | None, ...] | None = None  # mon..sun, None = closed; None overall: not configured
    holiday_hours: Span | None = None
    holidays: frozenset[date] = frozenset()
    shifts: Mapping[tuple[str, Day], Span | None] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # name_key(name or alias) -> name
    week_breaks: tuple[tuple[Span, ...], ...] = ((),) * 7
    holiday_breaks: tuple[Span, ...] = ()
    days: Mapping[date, DayRule] = field(default_factory=dict)
    public_holidays: bool = False  # Japanese public holidays count as holidays
    staff_ids: Mapping[str, int] = field(default_factory=dict)
    fixed: tuple[FixedTime, ...] = ()

    @classmethod
    def build(cls, shop: ShopSection, rows: Sequence[ShiftRow] = ()) -> Calendar:
        """From the [shop] section and shift rows (rows naming unknown staff are left out)."""
        aliases = {name_key(text): s.name for s in shop.staff for text in (s.name, *s.aliases)}
        configured = [getattr(shop.hours, d) for d in WEEKDAYS]
        week = tuple(parse_hours(v) for v in configured) if all(v is not None for v in configured) else None
        # The roster alone is enough to resolve the names written in the shift rows.
        roster = cls(tz=ZoneInfo(shop.timezone), staff=tuple(s.name for s in shop.staff), aliases=aliases)
        return replace(
            roster,
            menus=tuple(
                Menu(
                    m.name,
                    m.minutes,
                    tuple(m.aliases),
                    addons=tuple(AddonOption(a.name, a.price, a.stock) for a in m.addons),
                )
                for m in shop.menus
            ),
            week=week,
            holiday_hours=parse_hours(shop.hours.holiday) if shop.hours.holiday else None,
            holidays=frozenset(shop.holidays),
            shifts=shifts_mod.canonical_rows(rows, roster.staff_named),
        )

    # --- names -------------------------------------------------------------------------------------

    def staff_named(self, text: str) -> str | None:
        """The canonical name for a name or alias as a vendor wrote it; None if no one is called that.

        With no staff configured, every name is accepted as written (NFKC, trimmed)."""
        if not self.staff:
            written = unicodedata.normalize("NFKC", text).strip()
            return written or None
        return self.aliases.get(name_key(text))

    def menu_named(self, text: str) -> Menu | None:
        """The menu by name or alias; else the one whose name or alias the text contains (the longest)."""
        key = name_key(text)
        if not key:
            return None
        for menu in self.menus:
            if key in {name_key(n) for n in (menu.name, *menu.aliases)}:
                return menu
        contained = [
            (len(k), i)
            for i, menu in enumerate(self.menus)
            for k in (name_key(n) for n in (menu.name, *menu.aliases))
            if k and k in key
        ]
        return self.menus[max(contained)[1]] if contained else None

    def duration(self, menu_text: str | None) -> timedelta:
        """How long a booking of this menu takes: the menu's minutes, else 60 minutes."""
        menu = self.menu_named(menu_text) if menu_text else None
        return menu.duration if menu else timedelta(minutes=DEFAULT_MINUTES)

    # --- days and hours ----------------------------------------------------------------------------

    @property
    def has_hours(self) -> bool:
        return self.week is not None

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (self.public_holidays and jpholiday.is_holiday(day))

    def opening(self, day: date) -> Span | None:
        """The shop's hours that day; None when closed. ALL_DAY when no hours are configured."""
        if day in self.days:
            return self.days[day].span
        if self.is_holiday(day):
            return self.holiday_hours
        return ALL_DAY if self.week is None else self.week[day.weekday()]

    def breaks(self, day: date) -> tuple[Span, ...]:
        """The shop's breaks that day (昼休み): nobody is booked across them."""
        if day in self.days:
            return self.days[day].breaks
        if self.is_holiday(day):
            return self.holiday_breaks
        return self.week_breaks[day.weekday()] if self.week is not None else ()

    @cached_property
    def _weekly(self) -> frozenset[str]:
        """Who has a weekly pattern (availability asks for every person and start of a day)."""
        return frozenset(n for (n, d) in self.shifts if isinstance(d, int))

    @cached_property
    def _canonical(self) -> frozenset[str]:
        return frozenset(self.staff)

    def _has_week(self, name: str) -> bool:
        return name in self._weekly

    def shift(self, staff: str, day: date) -> Span | None:
        """The hours a staff member (name or alias) works that day; None = day off."""
        name = staff if staff in self._canonical else self.staff_named(staff) or staff
        if (name, day) in self.shifts:
            return self.shifts[(name, day)]
        opening = self.opening(day)
        if opening is None and (day in self.days or self.is_holiday(day)):
            return None  # the shop is closed that day: nobody works but by a dated row
        if self._has_week(name):
            return self.shifts.get((name, day.weekday()))
        return opening

    # --- datetimes ---------------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("expected an aware datetime")
        return moment.astimezone(self.tz)

    def bounds(self, day: date, span: Span) -> tuple[datetime, datetime]:
        """The span on that day as aware datetimes; ALL_DAY, and a span whose end is not after its
        start, end on the next day."""
        start = datetime.combine(day, span[0], tzinfo=self.tz)
        if span[1] == time.max:
            return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.tz)
        end_day = day + timedelta(days=1) if span[1] <= span[0] else day
        return start, datetime.combine(end_day, span[1], tzinfo=self.tz)

    def within(self, span: Span, start: datetime, end: datetime) -> bool:
        """Whether [start, end) lies inside the span on the (local) day it starts."""
        local_start, local_end = self.local(start), self.local(end)
        lo, hi = self.bounds(local_start.date(), span)
        return lo <= local_start and local_end <= hi

    def works(self, staff: str, start: datetime, end: datetime) -> bool:
        span = self.shift(staff, self.local(start).date())
        return span is not None and self.within(span, start, end)
