"""Finding the customer a notice is about: by phone, then email, then name and reading."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.models import Customer, CustomerStatus


def find(session: Session, details: Mapping[str, str]) -> Customer | None:
    live = col(Customer.status) != CustomerStatus.DELETED
    phone, email = details.get("phone", ""), details.get("email", "")
    name, kana = details.get("name", ""), details.get("name_kana", "")
    if phone:
        found = session.exec(
            select(Customer).where(Customer.phone == phone, live).order_by(Customer.id)
        ).first()
        if found:
            return found
    if email:
        found = session.exec(select(Customer).where(Customer.email_key == email.lower(), live)).first()
        if found:
            return found
    if name and kana:
        stmt = select(Customer).where(Customer.name == name, Customer.name_kana == kana, live)
        return session.exec(stmt.order_by(Customer.id)).first()
    return None


def find_or_create(
    session: Session,
    details: Mapping[str, str],
    *,
    now: datetime,
    actor: str,
    message_id: int | None,
    label: str,
) -> Customer | None:
    """The matching customer, with blanks filled in from the notice; a new ledger customer when none
    matches. A different address never replaces email 1: it goes into the memo (`label` says where
    it came from)."""
    if not any(details.get(k) for k in ("phone", "email", "name")):
        return None
    customer = find(session, details)
    if customer is None:
        email = details.get("email", "")
        taken = email and session.exec(select(Customer).where(Customer.email_key == email.lower())).first()
        customer = Customer(
            email="" if taken else email,
            email_key=None if taken or not email else email.lower(),
            status=CustomerStatus.LEDGER,
            name=details.get("name", ""),
            name_kana=details.get("name_kana", ""),
            phone=details.get("phone", ""),
            created_at=now,
        )
        session.add(customer)
        session.flush()
        audit.record(session, "customer_created", actor, customer_id=customer.id, message_id=message_id)
        return customer
    changed: dict[str, str] = {}
    for key in ("name", "name_kana", "phone"):
        if details.get(key) and not getattr(customer, key):
            setattr(customer, key, details[key])
            changed[key] = details[key]
    email = details.get("email", "")
    if email and not customer.email:
        clash = session.exec(select(Customer).where(Customer.email_key == email.lower())).first()
        if clash is None:
            customer.email, customer.email_key = email, email.lower()
            changed["email"] = email
    elif email and email.lower() != customer.email.lower() and email not in customer.memo:
        line = f"別のメールアドレス: {email}（{label}）"
        customer.memo = f"{customer.memo}\n{line}".strip()
        changed["memo"] = line
    if changed:
        session.add(customer)
        audit.record(
            session, "customer_updated", actor, customer_id=customer.id, message_id=message_id, **changed
        )
    return customer
