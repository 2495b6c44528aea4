"""The double-booking check: why a booking does not fit the shop's calendar, in words staff read.

A conflict never stops a booking (the customer has booked with the vendor); the caller records it and
flags it with these reasons, which go into the staff alert mail as they are.

The caller sets `end`: from the notice, or `start + cal.duration(menu)` (the menu's minutes, else 60).
Bookings of the same staff member overlap when start < other.end and other.start < end; touching is fine.
A booking with no staff (指名なし) needs one staff member who works the whole slot and has no other
booking in it, plus one more for every other 指名なし booking running at the same time.
With no staff configured, only the shop's hours and same-name overlaps are checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from mailgate.shop.calendar import ALL_DAY, Calendar
from mailgate.times import Span, fmt_day, fmt_span, name_key


@dataclass(frozen=True, kw_only=True)
class Slot:
    """A booking as the check sees it. Aware datetimes in any zone, compared in the shop's; naive ones
    are taken as UTC (the ledger stores UTC, and SQLite hands it back without a zone)."""

    id: int | None = None
    staff: str | None = None  # as the vendor wrote it; None or "" for 指名なし
    start: datetime
    end: datetime
    label: str = ""  # for messages: "STORES 87246923 山田太郎"

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None:
                object.__setattr__(self, name, moment.replace(tzinfo=UTC))
        if self.end <= self.start:
            raise ValueError("Slot needs an end after its start")

    def overlaps(self, other: Slot) -> bool:
        return self.start < other.end and other.start < self.end


def check(cal: Calendar, booking: Slot, others: Sequence[Slot]) -> list[str]:
    """The reasons the booking conflicts, in Japanese; [] when it fits. `others` may include the booking."""
    others = [o for o in others if booking.id is None or o.id != booking.id]
    day = cal.local(booking.start).date()
    opening = cal.opening(day)
    reasons = _shop_reasons(cal, booking, day, opening)
    if booking.staff and booking.staff.strip():
        reasons += _staff_reasons(cal, booking, others, day, opening)
    elif cal.staff and not reasons and not _someone_free(cal, booking, others):
        # Outside the shop's hours nobody works, which the hours reason already says.
        reasons.append("空いているスタッフがいません")
    return reasons


def _shop_reasons(cal: Calendar, booking: Slot, day: date, opening: Span | None) -> list[str]:
    if opening is None:
        return [f"{fmt_day(day)} は{'休業日' if cal.is_holiday(day) else '定休日'}です"]
    if opening != ALL_DAY and not cal.within(opening, booking.start, booking.end):
        return [f"営業時間外です（{fmt_span(opening)}）"]
    return []


def _staff_reasons(
    cal: Calendar, booking: Slot, others: Sequence[Slot], day: date, opening: Span | None
) -> list[str]:
    assert booking.staff
    name = cal.staff_named(booking.staff)
    reasons = []
    if name is None:
        reasons.append(f"担当スタッフ「{booking.staff.strip()}」は登録されていません")
    elif cal.staff and opening is not None:  # on a closed day the shop's reason says it all
        shift = cal.shift(name, day)
        if shift is None:
            reasons.append(f"{name}さんは {fmt_day(day)} 休みです")
        elif shift != opening and not cal.within(shift, booking.start, booking.end):
            # Staff who work the shop's hours are covered by 営業時間外 already.
            reasons.append(f"{name}さんの勤務時間外です（{fmt_span(shift)}）")
    who = _person(cal, booking.staff)
    shown = name or booking.staff.strip()
    for other in sorted(others, key=lambda o: o.start):
        if other.staff and _person(cal, other.staff) == who and booking.overlaps(other):
            start, end = cal.local(other.start), cal.local(other.end)
            when = f"{fmt_day(start.date())} {fmt_span((start.time(), end.time()))}"
            label = f"（{other.label}）" if other.label else ""
            reasons.append(f"{shown}さんは {when} に別の予約があります{label}")
    return reasons


def _person(cal: Calendar, staff: str) -> str:
    """Who a name refers to: the canonical staff member, or the name itself when no one is called that."""
    return name_key(cal.staff_named(staff) or staff)


def _someone_free(cal: Calendar, booking: Slot, others: Sequence[Slot]) -> bool:
    busy = {_person(cal, o.staff) for o in others if o.staff and o.staff.strip() and booking.overlaps(o)}
    free = [s for s in cal.staff if _person(cal, s) not in busy and cal.works(s, booking.start, booking.end)]
    unassigned = [o for o in others if not (o.staff and o.staff.strip()) and booking.overlaps(o)]
    return len(free) > _most_at_once(unassigned, booking)


def _most_at_once(slots: Sequence[Slot], within: Slot) -> int:
    """The most of these slots running at the same moment inside `within`."""
    moments = [within.start, *(s.start for s in slots if within.start < s.start < within.end)]
    return max((sum(1 for s in slots if s.start <= m < s.end) for m in moments), default=0)
