"""`mailgate shop import`: the [shop] section of mailgate.toml (and its shift table) into the database,
which counts from then on. A database gets the import once by itself when it is first used: the
config's [shop], or the sample shop when mailgate runs without a config file (the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from mailgate import db
from mailgate.config import Config, ShopSection
from mailgate.config.sections import AddonEntry, MenuEntry, ShopHours, StaffEntry
from mailgate.models import utcnow
from mailgate.shop import shift_store
from mailgate.shop import shifts as shift_table
from mailgate.shop.calendar import Calendar
from mailgate.shop.calendar_db import PUBLIC_HOLIDAYS
from mailgate.shop.shifts import ShiftRow, ShiftTableError
from mailgate.shop_tables import Addon, MenuItem, ShopDay, ShopSetting, StaffMember, WeekHours
from mailgate.times import WEEKDAYS, parse_hours

IMPORTED = "imported_at"

SAMPLE = ShopSection(
    staff=[
        StaffEntry(name="佐藤", aliases=["さとう", "Sato", "佐藤 先生"]),
        StaffEntry(name="田中", aliases=["たなか", "Tanaka"]),
    ],
    menus=[
        MenuEntry(name="整体 60分コース", aliases=["整体60分"], minutes=60),
        MenuEntry(name="整体 90分コース", aliases=["整体90分"], minutes=90),
        MenuEntry(name="骨盤矯正", minutes=45),
    ],
    hours=ShopHours(
        mon="10:00-20:00",
        tue="closed",
        wed="10:00-20:00",
        thu="10:00-20:00",
        fri="10:00-20:00",
        sat="10:00-18:00",
        sun="10:00-18:00",
    ),
)


@dataclass
class Report:
    """What an import changed, in lines an operator reads."""

    lines: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        self.lines.append(what)


def shift_rows(cfg: Config) -> Sequence[ShiftRow]:
    """The rows of the config's shift table (none without one); ShiftTableError lists its mistakes."""
    if not cfg.shop.shifts:
        return ()
    path = cfg.resolve(cfg.shop.shifts)
    try:
        table = shift_table.read(path)
    except FileNotFoundError:
        raise ShiftTableError(f"{path}: no such file ([shop] shifts)") from None
    except OSError as e:
        raise ShiftTableError(f"{path}: {e.strerror}") from None
    mistakes = shift_table.check(table, Calendar.build(cfg.shop).staff_named)
    if mistakes:
        raise ShiftTableError("\n".join(mistakes))
    return table.rows


def import_shop(session: Session, shop: ShopSection, rows: Sequence[ShiftRow]) -> Report:
    """Make the database's staff, menus, hours, holidays and shifts those of `shop`. Staff and menus
    not in it are kept but inactive (bookings point at them)."""
    report = Report()
    _staff(session, shop.staff, report)
    _menus(session, shop.menus, report)
    _hours(session, shop.hours, report)
    _holidays(session, shop, report)
    if rows:
        _shifts(session, shop, rows, report)
    setting = session.get(ShopSetting, PUBLIC_HOLIDAYS) or ShopSetting(key=PUBLIC_HOLIDAYS)
    setting.value = shop.public_holidays
    session.add(setting)
    report.add(f"public holidays: {shop.public_holidays}")
    row = session.get(ShopSetting, IMPORTED) or ShopSetting(key=IMPORTED)
    row.value, row.updated_at = utcnow().isoformat(), utcnow()
    session.add(row)
    shift_store.bump(session)
    return report


def ensure_imported(engine: Engine, cfg: Config) -> Report | None:
    """The first use of a database imports the shop once, whichever node or command comes first."""
    with db.transaction(engine) as session:
        if session.get(ShopSetting, IMPORTED) is not None:
            return None
        db.serialize(session, "calendar-import")
        if session.get(ShopSetting, IMPORTED) is not None:  # another node did, meanwhile
            return None
        if cfg.source is None:
            return import_shop(session, SAMPLE, ())
        return import_shop(session, cfg.shop, shift_rows(cfg))


def _staff(session: Session, entries: Sequence[StaffEntry], report: Report) -> None:
    existing = {s.name: s for s in session.exec(select(StaffMember))}
    for position, entry in enumerate(entries):
        row = existing.pop(entry.name, None) or StaffMember(name=entry.name)
        if row.id is None:
            report.add(f"staff {entry.name}: added")
        row.aliases, row.position, row.active = list(entry.aliases), position, True
        session.add(row)
    for row in existing.values():
        if row.active:
            row.active = False
            session.add(row)
            report.add(f"staff {row.name}: not in [shop] staff, no longer shown (kept for the ledger)")
    session.flush()


def _menus(session: Session, entries: Sequence[MenuEntry], report: Report) -> None:
    existing = {m.name: m for m in session.exec(select(MenuItem))}
    for position, entry in enumerate(entries):
        row = existing.pop(entry.name, None) or MenuItem(name=entry.name)
        if row.id is None:
            report.add(f"menu {entry.name}: added ({entry.minutes} min)")
        row.aliases, row.staff = list(entry.aliases), list(entry.staff)
        row.minutes, row.buffer_minutes, row.grid_minutes = entry.minutes, entry.buffer, entry.grid
        row.price, row.kind, row.confirm = entry.price, entry.kind, entry.confirm
        row.ahead_days, row.book_until = entry.ahead_days, entry.book_until
        row.change_until, row.cancel_until = entry.change_until, entry.cancel_until
        row.reminders = list(entry.reminders) if entry.reminders is not None else None
        row.questions = [q.model_dump() for q in entry.questions] or None
        row.position, row.active = position, True
        session.add(row)
        session.flush()
        _addons(session, row, entry.addons, report)
    for row in existing.values():
        if row.active:
            row.active = False
            session.add(row)
            report.add(f"menu {row.name}: not in [shop] menus, no longer offered (kept for the ledger)")


def _addons(session: Session, menu: MenuItem, entries: Sequence[AddonEntry], report: Report) -> None:
    """The menu's options as configured; one no longer there is kept inactive (bookings point at it)."""
    existing = {a.name: a for a in session.exec(select(Addon).where(Addon.menu_id == menu.id))}
    for position, entry in enumerate(entries):
        row = existing.pop(entry.name, None) or Addon(menu_id=menu.id or 0, name=entry.name)
        if row.id is None:
            report.add(f"menu {menu.name}: add-on {entry.name} added ({entry.stock} in stock)")
        row.price, row.stock, row.position, row.active = entry.price, entry.stock, position, True
        session.add(row)
    retired = [row for row in existing.values() if row.active]
    for row in retired:
        row.active = False
        session.add(row)
    report.lines.extend(f"menu {menu.name}: add-on {row.name} no longer offered" for row in retired)


def _hours(session: Session, hours: ShopHours, report: Report) -> None:
    session.exec(delete(WeekHours))  # type: ignore[call-overload]
    texts = [*(getattr(hours, d) for d in WEEKDAYS), hours.holiday]
    if all(t is None for t in texts[:7]):
        report.add("hours: none (every time is inside them)")
        return
    for weekday, text in enumerate(texts):
        span = parse_hours(text) if text else None
        if span is not None:
            session.add(WeekHours(weekday=weekday, opens=span[0], closes=span[1]))
    report.add(
        "hours: "
        + ", ".join(f"{d} {t or 'closed'}" for d, t in zip([*WEEKDAYS, "holiday"], texts, strict=True))
    )


def _holidays(session: Session, shop: ShopSection, report: Report) -> None:
    for day in shop.holidays:  # the holiday hours ([shop.hours] holiday), else closed
        row = session.get(ShopDay, day) or ShopDay(day=day)
        row.holiday, row.closed, row.opens, row.closes = True, False, None, None
        row.note = row.note or "[shop] holidays"
        session.add(row)
    if shop.holidays:
        report.add("holidays: " + ", ".join(d.isoformat() for d in shop.holidays))


def _shifts(session: Session, shop: ShopSection, rows: Sequence[ShiftRow], report: Report) -> None:
    ids = {s.name: s.id or 0 for s in session.exec(select(StaffMember))}
    cal = Calendar(tz=Calendar.build(shop).tz, staff_ids=ids)
    table = shift_table.canonical_rows(rows, Calendar.build(shop).staff_named)
    report.add(f"shifts: {shift_store.replace_all(session, cal, table)} rows")


def differences(session: Session, shop: ShopSection) -> list[str]:
    """Where the config's [shop] and the database disagree (serve says so at start: after an import
    the database counts, and an edited config is not read until `mailgate shop import`)."""
    if not (shop.staff or shop.menus or shop.hours.mon):
        return []  # a config that leaves the calendar to the database
    found = []
    staff = {s.name: s for s in session.exec(select(StaffMember).where(StaffMember.active))}
    wanted = {e.name: e for e in shop.staff}
    for name in sorted(wanted.keys() - staff.keys()):
        found.append(f"staff {name}: in [shop] staff, not in the database")
    for name in sorted(staff.keys() - wanted.keys()):
        found.append(f"staff {name}: in the database, not in [shop] staff")
    for name in sorted(wanted.keys() & staff.keys()):
        if list(wanted[name].aliases) != list(staff[name].aliases):
            found.append(f"staff {name}: other aliases in [shop] staff")
    menus = {m.name: m for m in session.exec(select(MenuItem).where(MenuItem.active))}
    entries = {e.name: e for e in shop.menus}
    for name in sorted(entries.keys() ^ menus.keys()):
        where = "[shop] menus" if name in entries else "the database"
        found.append(f"menu {name}: only in {where}")
    for name in sorted(entries.keys() & menus.keys()):
        if entries[name].minutes != menus[name].minutes:
            minutes = f"{entries[name].minutes} min in [shop] menus, {menus[name].minutes} in the database"
            found.append(f"menu {name}: {minutes}")
    hours = {h.weekday: (h.opens, h.closes) for h in session.exec(select(WeekHours))}
    texts = [*(getattr(shop.hours, d) for d in WEEKDAYS), shop.hours.holiday]
    configured = {i: parse_hours(t) for i, t in enumerate(texts) if t}
    if {i: s for i, s in configured.items() if s is not None} != hours:
        found.append("hours: [shop.hours] differ from the database's")
    return found
