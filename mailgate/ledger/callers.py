"""Who is on the phone or at the counter: the customer an operator names by #ID, address, phone or
name, or the details of a new one (created as a ledger customer when the booking is made:
fit_rules.customer_for -> matching.find_or_create). And when a walk-in starts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from mailgate import normalize
from mailgate.ledger.booking_search import katakana, name_forms
from mailgate.ledger.customers import by_email, find_for_operator
from mailgate.ledger.matching import Person, same_person
from mailgate.models import Customer, CustomerStatus
from mailgate.shop.calendar import Calendar, Menu


@dataclass(frozen=True)
class Caller:
    """found: one customer (book for them), several (the operator must say which), or none (then
    `person` is who to create; empty when nothing was given to create them from)."""

    found: list[Customer] = field(default_factory=list)
    person: Person = field(default_factory=Person)


def details(name: str = "", kana: str = "", phone: str = "", email: str = "") -> Person:
    """The caller's details as stored (normalize.*); NormalizeError for what must be retyped."""
    return Person(
        name=normalize.name(name) if name.strip() else "",
        name_kana=normalize.kana(kana) if kana.strip() else "",
        phone=_phone(phone) if phone.strip() else "",
        email=email.strip(),
    )


def _phone(typed: str) -> str:
    """normalize.phone; a number it does not know as valid (a new range, a made-up test number)
    still counts when it has a phone's 10 or 11 digits: the operator heard it from the caller."""
    try:
        return normalize.phone(typed)
    except normalize.NormalizeError:
        text = unicodedata.normalize("NFKC", typed).strip()
        digits = re.sub(r"\D", "", "0" + text[3:] if text.startswith("+81") else text)
        if digits.startswith("0") and len(digits) in (10, 11):
            return digits
        raise


def by_name(session: Session, name: str) -> list[Customer]:
    """Live customers whose whole name or reading is this name, however it was typed."""
    forms = name_forms(name)
    stmt = select(Customer).where(
        col(Customer.status) != CustomerStatus.DELETED,
        or_(col(Customer.name).in_(sorted(forms)), col(Customer.name_kana) == katakana(forms)),
    )
    return list(session.exec(stmt.order_by(col(Customer.id))))


def _by_phone(session: Session, phone: str) -> list[Customer]:
    live = col(Customer.status) != CustomerStatus.DELETED
    return list(
        session.exec(select(Customer).where(Customer.phone == phone, live).order_by(col(Customer.id)))
    )


def find(session: Session, given: str, person: Person) -> Caller:
    """`given` (--customer: #ID, address, phone or name) first; else the phone, then the address,
    then the name of the details. With a name given, a phone finds only who has that name (as
    matching does: a phone alone never makes two names one customer)."""
    if given.strip():
        text = given.strip()
        found = find_for_operator(session, f"#{text}" if text.isdigit() and len(text) < 10 else text)
        if not found and "@" not in text and not text.lstrip("#").isdigit():
            found = by_name(session, text)
        return Caller(found)
    if person.phone:
        found = _by_phone(session, person.phone)
        if person.name or person.name_kana:  # a family's phone: the one with this name, or someone new
            found = [c for c in found if same_person(person, c)]
        if found:
            return Caller(found)
    if person.email and (by_address := by_email(session, person.email)) is not None:
        return Caller([by_address])
    if person.name and not person.phone and not person.email:
        found = by_name(session, person.name)
        if found:
            return Caller(found)
    return Caller([], person)


def walk_in_start(cal: Calendar, menu: Menu, now: datetime) -> datetime:
    """Now, on the menu's grid counted from opening time (the nearest grid start)."""
    day = cal.local(now).date()
    opening = cal.opening(day)
    lo = cal.bounds(day, opening)[0] if opening else datetime.combine(day, datetime.min.time(), cal.tz)
    grid = timedelta(minutes=menu.grid)
    steps = round((now - lo) / grid)
    return lo + steps * grid
