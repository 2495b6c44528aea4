"""Free times: a pure function of the calendar and the bookings that hold seats. No I/O.

Free choice: starts on the menu's grid from opening time, the menu's minutes inside the shop's hours
and the staff member's shift, clear of breaks and of that staff member's other bookings (their buffer
after included), for a named staff member or "anyone" (the first free one, in the shop's order).
Bookings with no staff named (指名なし) each need one more free person at that time. A shop with no
staff on its roster is one person. Fixed slots: the shop's times for the menu with seats left.
Every offer is bookable now: not past the menu's booking deadline, not beyond how far ahead it opens.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mailgate import deadlines
from mailgate.shop.calendar import Calendar, Menu

SHOP = ""  # the one resource of a shop without a roster


@dataclass(frozen=True)
class Busy:
    """A booking that holds a seat: [start, end) plus the buffer after it."""

    staff: str | None  # None: no one named (指名なし)
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Offer:
    start: datetime
    end: datetime  # the service ends; the buffer follows
    staff: str | None
    slot_id: int | None = None
    seats_left: int | None = None
    free: tuple[str, ...] = ()  # everyone free then, in the shop's order (the first is `staff`)


def capable(cal: Calendar, menu: Menu) -> tuple[str, ...]:
    """Who can do the menu, in the shop's order; (SHOP,) for a shop without a roster."""
    if not cal.staff:
        return (SHOP,)
    return tuple(n for n in cal.staff if not menu.staff or n in menu.staff)


def bookable_now(cal: Calendar, menu: Menu, start: datetime, now: datetime) -> bool:
    if now > deadlines.latest(menu.book_until, start, cal.tz):
        return False
    return cal.local(start).date() <= cal.local(now).date() + timedelta(days=menu.ahead_days)


class _Timeline:
    """Busy intervals per person, sorted by start with the running maximum of their ends, so "is
    anything of this person's in [start, end)?" is one bisection. In POSIX seconds: the bookings come
    in UTC and the day in the shop's zone, and comparing aware datetimes of two zones looks up an
    offset every time."""

    def __init__(self, busy: Iterable[Busy], roster: bool) -> None:
        named: dict[str, list[tuple[float, float]]] = {}
        self.unnamed: list[tuple[float, float]] = []
        for b in busy:
            who = b.staff if roster else SHOP  # one person: no staff named is that person too
            span = (b.start.timestamp(), b.end.timestamp())
            if who is None:
                self.unnamed.append(span)
            else:
                named.setdefault(who, []).append(span)
        self.starts: dict[str, list[float]] = {}
        self.max_ends: dict[str, list[float]] = {}
        for who, spans in named.items():
            spans.sort()
            self.starts[who] = [s for s, _ in spans]
            ends, latest = [], spans[0][1]
            for _, e in spans:
                latest = max(latest, e)
                ends.append(latest)
            self.max_ends[who] = ends

    def free(self, who: str, start: float, end: float) -> bool:
        starts = self.starts.get(who)
        if not starts:
            return True
        before_end = bisect.bisect_left(starts, end)  # intervals starting before `end`
        return before_end == 0 or self.max_ends[who][before_end - 1] <= start

    def unnamed_at(self, start: float, end: float) -> int:
        return sum(1 for s, e in self.unnamed if s < end and start < e)


def offers(
    cal: Calendar,
    menu: Menu,
    day: date,
    busy: Sequence[Busy],
    *,
    now: datetime,
    staff: str | None = None,
    taken_seats: Mapping[int, int] | None = None,
    for_customer: bool = True,
) -> list[Offer]:
    """The bookable times of `menu` on the shop's `day`; `staff` a canonical name, or None for anyone.
    for_customer=False (the shop's own desk): the booking deadline and the horizon do not apply."""
    if menu.kind == "slots":
        return _slot_offers(cal, menu, day, now, taken_seats or {}, for_customer)
    opening = cal.opening(day)
    if opening is None:
        return []
    lo, hi = cal.bounds(day, opening)
    people = capable(cal, menu)
    if staff is not None and staff not in people:
        return []
    timeline = _Timeline(busy, roster=bool(cal.staff))
    breaks = [cal.bounds(day, b) for b in cal.breaks(day)]
    shifts = {p: _seconds(_shift_bounds(cal, p, day)) for p in people}
    length, after = menu.duration, timedelta(minutes=menu.buffer)
    found: list[Offer] = []
    start = lo
    while start + length <= hi:
        end = start + length
        if (not for_customer or bookable_now(cal, menu, start, now)) and not any(
            b_lo < end and start < b_hi for b_lo, b_hi in breaks
        ):
            at, until, freed = start.timestamp(), end.timestamp(), (end + after).timestamp()
            free = [p for p in people if _fits(shifts[p], at, until) and timeline.free(p, at, freed)]
            if len(free) > timeline.unnamed_at(at, freed):
                chosen = staff if staff is not None else free[0]
                if chosen in free:
                    found.append(Offer(start, end, None if chosen == SHOP else chosen, free=tuple(free)))
        start += timedelta(minutes=menu.grid)
    return found


def _shift_bounds(cal: Calendar, person: str, day: date) -> tuple[datetime, datetime] | None:
    if person == SHOP:
        opening = cal.opening(day)
        return cal.bounds(day, opening) if opening else None
    span = cal.shift(person, day)
    return cal.bounds(day, span) if span else None


def _seconds(bounds: tuple[datetime, datetime] | None) -> tuple[float, float] | None:
    return (bounds[0].timestamp(), bounds[1].timestamp()) if bounds else None


def _fits(bounds: tuple[float, float] | None, start: float, end: float) -> bool:
    return bounds is not None and bounds[0] <= start and end <= bounds[1]


def _slot_offers(
    cal: Calendar, menu: Menu, day: date, now: datetime, taken: Mapping[int, int], for_customer: bool
) -> list[Offer]:
    delta = cal.days[day].seats_delta if day in cal.days else 0
    found = []
    for slot in cal.fixed:
        if slot.menu != menu.name or cal.local(slot.start).date() != day:
            continue
        left = slot.seats + delta - taken.get(slot.id, 0)
        if left > 0 and (not for_customer or bookable_now(cal, menu, slot.start, now)):
            found.append(Offer(slot.start, slot.end, slot.staff, slot_id=slot.id, seats_left=left))
    return found
