"""Linking an extra address to a customer (a new phone, a new carrier address) and unlinking it, at the
desk. An address belongs to one customer only, as email 1 or as an extra address."""

from __future__ import annotations

from sqlmodel import Session, select

from mailgate import audit, db
from mailgate.audit import Actor
from mailgate.customer_addresses import CustomerAddress, by_address
from mailgate.ledger.matching import GONE
from mailgate.mail.addresses import domain_of, local_part
from mailgate.models import Customer


class Refused(ValueError):
    """What the operator asked cannot be done; str(e) says why and what to do."""


def checked_address(email: str) -> str:
    text = email.strip()
    if not local_part(text) or "." not in domain_of(text) or any(c.isspace() for c in text):
        raise Refused(f"{email!r} is not a mail address (like name@docomo.ne.jp)")
    return text


def link(session: Session, customer: Customer, email: str, actor: Actor) -> str:
    """`email` becomes an address of `customer` ("email 1" when they had none, else "extra");
    Refused when it is anyone's already."""
    if customer.status in GONE:
        raise Refused(f"customer {customer.id} is {customer.status}: no address can be linked to it")
    email = checked_address(email)
    db.serialize(session, f"customer:email:{email.lower()}")
    owner = by_address(session, email)
    if owner is not None:
        whose = (
            "this customer's" if owner.id == customer.id else f"customer #{owner.id}'s ({owner.name or '-'})"
        )
        raise Refused(f"{email} is already {whose} address: unlink it there first")
    which = attach(session, customer, email)
    audit.by(session, "address_linked", actor, customer_id=customer.id, email=email, which=which)
    return which


def attach(session: Session, customer: Customer, email: str) -> str:
    """A free address given to a customer: email 1 when they have none (where mailgate's own mail
    goes: a ledger customer from a phone call), else an extra address."""
    if not customer.email:
        customer.email, customer.email_key = email, email.lower()
        session.add(customer)
        return "email 1"
    session.add(CustomerAddress(customer_id=customer.id or 0, email=email, email_key=email.lower()))
    return "extra"


def unlink(session: Session, customer: Customer, email: str, actor: Actor) -> None:
    """An extra address removed; email 1 cannot be (it is where the customer's mail goes)."""
    key = email.strip().lower()
    if customer.email_key == key:
        raise Refused(f"{email} is email 1 of customer #{customer.id}, where their mail goes: not unlinked")
    stmt = select(CustomerAddress).where(
        CustomerAddress.customer_id == customer.id, CustomerAddress.email_key == key
    )
    found = session.exec(stmt).first()
    if found is None:
        raise Refused(f"{email} is not an extra address of customer #{customer.id}")
    session.delete(found)
    audit.by(session, "address_unlinked", actor, customer_id=customer.id, email=found.email)
