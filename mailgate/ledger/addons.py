"""Add-ons booked with a menu (タオルレンタル), each with its own stock, guarded like seats: item n of
an add-on is the seat-claim resource "addon:<id>#<n>", held in the booking's 5-minute grains. A
booking tries the items one by one, each all or nothing (seats.hold_time), so two bookings at
overlapping times never hold the same item, on SQLite and PostgreSQL alike, and no more are handed
out at once than exist. Cancelling or expiring a booking frees them with its seat (seats.release);
a move claims them again for the new time, or is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, select

from mailgate.ledger import seats
from mailgate.ledger.fit_rules import Refused, refuse
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking
from mailgate.shop.calendar import AddonOption, Menu
from mailgate.shop_tables import Addon, BookingAddon


def chosen(menu: Menu, names: Sequence[str]) -> list[AddonOption]:
    """The menu's add-ons of these names, in the menu's order; Refused('menu') for one it lacks."""
    wanted = set(names)
    unknown = wanted - {a.name for a in menu.addons}
    if unknown:
        raise refuse("menu", f"menu {menu.name!r} has no add-on {sorted(unknown)[0]!r}")
    return [a for a in menu.addons if a.name in wanted]


def resource(addon_id: int, item: int) -> str:
    return f"addon:{addon_id}#{item}"


def _hold(session: Session, booking: Booking, menu: Menu, option: AddonOption) -> int | None:
    """The item of the add-on the booking now holds for its time, or None when all are out."""
    assert booking.id is not None and option.id is not None
    end = booking.end + timedelta(minutes=menu.buffer)
    for item in range(option.stock):
        if seats.hold_time(session, booking.id, resource(option.id, item), booking.start, end):
            return item
    return None


def out_of_stock(name: str, booking_id: int | None = None) -> Refused:
    reason = f"add-on {name} is out of stock at that time (ちょうど品切れ)"
    return Refused(Result(Status.TAKEN, reason, booking_id, code="addon", subject=name))


NOT_HELD = -1  # an application holds no seat, and no item either


def claim(
    session: Session, booking: Booking, menu: Menu, options: Sequence[AddonOption], *, hold: bool = True
) -> None:
    """Hold one item of each add-on for the booking and record it (price at booking); raises
    Refused('addon') naming the first one that is out. The caller's savepoint undoes the rest."""
    assert booking.id is not None
    for option in options:
        item = _hold(session, booking, menu, option) if hold else NOT_HELD
        if item is None:  # the booking is undone with it: no id to give
            raise out_of_stock(option.name)
        session.add(
            BookingAddon(booking_id=booking.id, addon_id=option.id or 0, item=item, price=option.price)
        )
    session.flush()


def reclaim(session: Session, booking: Booking, menu: Menu) -> None:
    """After a move (its claims released): the same add-ons held for the new time. The menu changed:
    the old menu's add-ons are dropped. Refused('addon') when one is out at the new time."""
    assert booking.id is not None
    rows = list(session.exec(select(BookingAddon).where(BookingAddon.booking_id == booking.id)))
    options = {a.id: a for a in menu.addons}
    for row in rows:
        option = options.get(row.addon_id)
        if option is None:
            session.delete(row)
            continue
        item = _hold(session, booking, menu, option) if row.item != NOT_HELD else NOT_HELD
        if item is None:
            raise out_of_stock(option.name, booking.id)
        row.item = item
        session.add(row)
    session.flush()


def total(session: Session, booking_id: int) -> int:
    """What the booking's add-ons cost, as booked."""
    rows = session.exec(select(BookingAddon.price).where(BookingAddon.booking_id == booking_id))
    return sum(rows)


def names(session: Session, booking_id: int | None) -> list[str]:
    """The add-ons of a booking as staff and the customer read them: 「タオルレンタル(200円)」."""
    return names_of(session, [booking_id]).get(booking_id or 0, []) if booking_id is not None else []


def names_of(session: Session, booking_ids: Sequence[int | None]) -> dict[int, list[str]]:
    """The add-ons of each of these bookings (one query for a day's listing)."""
    ids = [i for i in booking_ids if i is not None]
    if not ids:
        return {}
    stmt = (
        select(BookingAddon.booking_id, Addon.name, BookingAddon.price)
        .join(Addon, col(Addon.id) == col(BookingAddon.addon_id))
        .where(col(BookingAddon.booking_id).in_(ids))
        .order_by(col(Addon.position), col(Addon.id))
    )
    found: dict[int, list[str]] = {}
    for booking_id, name, price in session.exec(stmt):
        found.setdefault(booking_id, []).append(f"{name}({price:,}円)" if price else name)
    return found
