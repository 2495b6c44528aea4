"""The customer behind a link: read (no lock) to show a page or check a form, then looked up again and
locked inside the transaction of a POST, so what the page decided on is still true when it acts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from mailgate import db, tokens
from mailgate.context import Context
from mailgate.links import LinkError
from mailgate.models import Customer, CustomerStatus, Token


@dataclass(frozen=True)
class CustomerView:
    """What a page shows of a customer, copied out of the session."""

    id: int
    email: str
    status: str
    name: str
    name_kana: str
    phone: str
    locked_until: datetime | None

    @classmethod
    def of(cls, c: Customer) -> CustomerView:
        assert c.id is not None
        return cls(c.id, c.email, c.status, c.name, c.name_kana, c.phone, tokens.aware(c.locked_until))


def load(ctx: Context, purpose: str, signed: str, now: datetime) -> CustomerView:
    """The customer of a live link (read only), or LinkError."""
    with db.transaction(ctx.engine) as s:
        token = tokens.lookup(s, ctx.signer, purpose, signed, now)
        customer = s.get(Customer, token.customer_id)
        if customer is None:
            raise LinkError("tampered")
        return CustomerView.of(customer)


def relookup(ctx: Context, s: Session, purpose: str, signed: str, now: datetime, customer_id: int) -> Token:
    """The link's token again, locked, in the transaction that acts on it."""
    token = tokens.lookup(s, ctx.signer, purpose, signed, now, lock=True)
    if token.customer_id != customer_id:  # cannot happen: the signed id names the token
        raise LinkError("tampered")
    return token


def locked_customer(s: Session, customer_id: int) -> Customer:
    return s.exec(select(Customer).where(Customer.id == customer_id).with_for_update()).one()


def active_only(view: CustomerView) -> None:
    if view.status != CustomerStatus.ACTIVE:
        raise LinkError("revoked")
