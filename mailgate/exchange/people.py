"""Who a row is about. As a notice finds them (ledger/matching.py), with one difference: a file lists
people side by side, so a namesake (the same name and reading) with another phone number and
another address is another person, not the same customer on a new phone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.ledger import matching
from mailgate.ledger.matching import Person
from mailgate.models import Customer

NEW, UPDATED, SAME = "new", "updated", "same"


def _namesake(found: Customer, person: Person) -> bool:
    other_phone = bool(person.phone and found.phone and person.phone != found.phone)
    same_mail = bool(person.email and person.email.lower() == found.email.lower())
    return other_phone and not same_mail


def find(session: Session, person: Person) -> Customer | None:
    found = matching.find(session, person)
    return None if found is None or _namesake(found, person) else found


def _adds_nothing(found: Customer, person: Person) -> bool:
    """What matching would fill in or note is there already."""
    blanks = any(person.get(k) and not getattr(found, k) for k in ("name", "name_kana", "phone"))
    email = person.email.lower()
    return not blanks and (not email or email == found.email.lower() or person.email in found.memo)


def find_or_create(
    session: Session, person: Person, *, now: datetime, actor: Actor, label: str
) -> tuple[Customer | None, str]:
    """(the row's customer, NEW, UPDATED or SAME); created apart from a namesake, so that the ledger's
    own matching (by phone first) finds this one for the row's booking."""
    found = matching.find(session, person)
    if found is not None and not _namesake(found, person):
        if _adds_nothing(found, person):
            return found, SAME
        return matching.find_or_create(session, person, now=now, actor=actor, label=label), UPDATED
    # Without the reading, matching cannot take the namesake for them; the reading goes back after.
    apart = person if found is None else replace(person, name_kana="")
    customer = matching.find_or_create(session, apart, now=now, actor=actor, label=label)
    if customer is not None and not customer.name_kana and person.name_kana:
        customer.name_kana = person.name_kana
        session.add(customer)
    return customer, NEW
