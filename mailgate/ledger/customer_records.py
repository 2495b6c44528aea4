"""A customer at the desk: everything about them on one screen, and an operator's edit of their details
(validated like the settings page's form, every change recorded old -> new)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from mailgate import audit, normalize
from mailgate.audit import Actor
from mailgate.customer_addresses import extra_addresses
from mailgate.ledger import visits
from mailgate.ledger.customers import read_details, tell_possible_duplicates
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.extra_addresses import Refused
from mailgate.models import Booking, BookingStatus, Customer, CustomerStatus, Event

# What an operator may set; erased and merged customers come only from `erase` and `merge`.
EDITABLE_STATUS = (CustomerStatus.PENDING, CustomerStatus.ACTIVE, CustomerStatus.LEDGER)


@dataclass(frozen=True)
class Record:
    customer: Customer
    extra_addresses: list[str]
    bookings: dict[str, int]  # per status
    open_bookings: list[Booking]  # live, from now on
    events: list[Event]  # the latest first
    visits: dict[str, int]  # checked in / no-shows (visits.counts)


def record(session: Session, customer_id: int, now: datetime, events: int = 10) -> Record:
    """LookupError when there is no such customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError(f"no customer {customer_id}: `mailgate customers search` finds them")
    per_status = select(Booking.status, func.count()).where(Booking.customer_id == customer_id)
    upcoming = select(Booking).where(
        Booking.customer_id == customer_id, col(Booking.status).in_(BookingStatus.LIVE), Booking.end >= now
    )
    latest = select(Event).where(Event.customer_id == customer_id)
    return Record(
        customer=customer,
        extra_addresses=extra_addresses(session, customer_id),
        bookings=dict(session.exec(per_status.group_by(col(Booking.status))).all()),
        open_bookings=list(session.exec(upcoming.order_by(col(Booking.start)))),
        events=list(session.exec(latest.order_by(col(Event.at).desc(), col(Event.id).desc()).limit(events))),
        visits=visits.counts(session, customer_id),
    )


def _shown(key: str, value: str) -> str:
    return normalize.mask_phone(value) if key == "phone" and value else value


def edit(
    session: Session, env: LedgerEnv, customer: Customer, given: dict[str, str], actor: Actor, now: datetime
) -> dict[str, tuple[str, str]]:
    """Set the given fields (name, name_kana, phone, memo, status): {field: (old, new)} of what changed.
    Refused, naming each field to correct, when a value would not pass the settings form."""
    current = {"name": customer.name, "name_kana": customer.name_kana, "phone": customer.phone}
    details, errors = read_details(current | {k: v for k, v in given.items() if k in current})
    wrong = {k: v for k, v in errors.items() if k in given}
    status = given.get("status")
    if status is not None and status not in EDITABLE_STATUS:
        wrong["status"] = f"one of {', '.join(EDITABLE_STATUS)} (erase and merge set the others)"
    elif status == CustomerStatus.ACTIVE and not customer.pin_hash:
        wrong["status"] = "active needs a registration with a PIN: mail them the signup address"
    if customer.status in (CustomerStatus.DELETED, CustomerStatus.MERGED):
        wrong["customer"] = f"customer {customer.id} is {customer.status}: nothing to edit"
    if wrong:
        raise Refused("; ".join(f"{k}: {v}" for k, v in wrong.items()))
    new = dict(given)
    if details is not None:
        new |= {k: getattr(details, k) for k in current if k in given}
    changed = {k: (getattr(customer, k), v) for k, v in new.items() if getattr(customer, k) != v}
    if not changed:
        return {}
    for key, (_, value) in changed.items():
        setattr(customer, key, value)
    session.add(customer)
    shown = {k: [_shown(k, old), _shown(k, value)] for k, (old, value) in changed.items()}
    audit.by(session, "customer_edited", actor, customer_id=customer.id, changes=shown)
    if changed.keys() & {"name", "name_kana", "phone"}:
        tell_possible_duplicates(session, env, customer, actor, now)
    return changed
