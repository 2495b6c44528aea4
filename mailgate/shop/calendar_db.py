"""The calendar from the database: the tables of shop_tables.py as one frozen Calendar value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailgate.shop.calendar import AddonOption, Calendar, DayRule, FixedTime, Menu, Question
from mailgate.shop.shifts import Day
from mailgate.shop_tables import (
    Addon,
    FixedSlot,
    MenuItem,
    Shift,
    ShopDay,
    ShopSetting,
    StaffMember,
    WeekHours,
)
from mailgate.times import Span, name_key, parse_span

VERSION = "calendar_version"
KEPT = "calendar"  # the Calendar read in a transaction (db.kept)
PUBLIC_HOLIDAYS = "public_holidays"  # "holiday": Japanese public holidays are holidays; "as_usual"
HOLIDAY_ROW = 7


_VERSION = select(ShopSetting.value).where(ShopSetting.key == VERSION)  # asked before every page's times


def version(session: Session) -> int:
    value = session.exec(_VERSION).first()
    return int(value) if value is not None else 0


def setting(session: Session, key: str, default: object = None) -> object:
    row = session.get(ShopSetting, key)
    return default if row is None else row.value


def spans(pairs: Iterable[Sequence[str]] | None) -> tuple[Span, ...]:
    found = (parse_span("-".join(p)) for p in (pairs or ()) if len(p) == 2)
    return tuple(s for s in found if s is not None)


def load(session: Session, tz: ZoneInfo) -> Calendar:
    staff = list(
        session.exec(
            select(StaffMember)
            .where(StaffMember.active)
            .order_by(col(StaffMember.position), col(StaffMember.id))
        )
    )
    by_id = {s.id: s.name for s in staff}
    aliases = {name_key(text): s.name for s in staff for text in (s.name, *s.aliases)}
    options: dict[int, list[AddonOption]] = {}
    for a in session.exec(select(Addon).where(Addon.active).order_by(col(Addon.position), col(Addon.id))):
        options.setdefault(a.menu_id, []).append(AddonOption(a.name, a.price, a.stock, a.id))
    menus = tuple(
        Menu(
            name=m.name,
            minutes=m.minutes,
            aliases=tuple(m.aliases),
            id=m.id,
            buffer=m.buffer_minutes,
            price=m.price,
            kind=m.kind,
            confirm=m.confirm,
            grid=m.grid_minutes,
            ahead_days=m.ahead_days,
            book_until=m.book_until,
            change_until=m.change_until,
            cancel_until=m.cancel_until,
            staff=tuple(m.staff),
            reminders=tuple(m.reminders) if m.reminders is not None else None,
            addons=tuple(options.get(m.id or 0, ())),
            questions=tuple(
                Question(q["text"], q["kind"], tuple(q["options"]), q["required"]) for q in m.questions or ()
            ),
        )
        for m in session.exec(
            select(MenuItem).where(MenuItem.active).order_by(col(MenuItem.position), col(MenuItem.id))
        )
    )
    hours = {h.weekday: h for h in session.exec(select(WeekHours))}
    week: tuple[Span | None, ...] | None = None
    if any(d in hours for d in range(7)):
        week = tuple((hours[d].opens, hours[d].closes) if d in hours else None for d in range(7))
    holiday = hours.get(HOLIDAY_ROW)
    exceptional = list(session.exec(select(ShopDay)))
    days = {
        d.day: DayRule(
            span=None if d.closed else _day_span(d, week),
            breaks=spans(d.breaks) if d.breaks is not None else (),
            seats_delta=d.seats_delta,
        )
        for d in exceptional
        if not d.holiday
    }
    shifts: dict[tuple[str, Day], Span | None] = {}
    for row in session.exec(select(Shift)):
        name = by_id.get(row.staff_id)
        when: Day | None = row.day if row.day is not None else row.weekday
        if name is None or when is None:
            continue
        shifts[(name, when)] = (
            None if row.off or row.start is None or row.end is None else (row.start, row.end)
        )
    menu_names = {m.id: m.name for m in menus}
    fixed = tuple(
        FixedTime(
            id=f.id or 0,
            menu=menu_names.get(f.menu_id, ""),
            start=f.start,
            end=f.end,
            seats=f.seats,
            staff=by_id.get(f.staff_id) if f.staff_id else None,
        )
        for f in session.exec(select(FixedSlot).order_by(col(FixedSlot.start)))
        if f.menu_id in menu_names
    )
    return Calendar(
        tz=tz,
        staff=tuple(s.name for s in staff),
        menus=menus,
        week=week,
        holiday_hours=(holiday.opens, holiday.closes) if holiday else None,
        holidays=frozenset(d.day for d in exceptional if d.holiday or d.closed),
        shifts=shifts,
        aliases=aliases,
        week_breaks=tuple(spans(hours[d].breaks) if d in hours else () for d in range(7)),
        holiday_breaks=spans(holiday.breaks) if holiday else (),
        days=days,
        public_holidays=setting(session, PUBLIC_HOLIDAYS, "as_usual") == "holiday",
        staff_ids={s.name: s.id for s in staff if s.id is not None},
        fixed=fixed,
    )


def _day_span(d: ShopDay, week: tuple[Span | None, ...] | None) -> Span | None:
    """Other hours that day: what the row says, the rest from the usual hours of that weekday."""
    usual = week[d.day.weekday()] if week is not None else None
    opens = d.opens or (usual[0] if usual else None)
    closes = d.closes or (usual[1] if usual else None)
    if opens is None or closes is None:
        return None if usual is None else usual
    return (opens, closes)
