"""A customer's extra addresses (a customer changed phones: the new docomo address beside the old one),
and the one way to find a customer by an address they write from: email 1 or any extra address. An
address belongs to one customer only (ledger/extra_addresses.py refuses a second owner)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Field, Session, col, or_, select

from mailgate import write_now
from mailgate.models import Customer, UTCDateTime, utcnow
from mailgate.table_base import Table


class CustomerAddress(Table, table=True):
    """One extra address of a customer; email 1 stays in customer.email."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    email: str = Field(max_length=320)  # as the operator typed it
    email_key: str = Field(max_length=320, unique=True)  # lowercased, like customer.email_key
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


# Statements on the worker's path are built once, with their values as parameters: building one
# (and its cache key) cost several times running it.
ADDRESS = "address_key"  # the parameter OWNS takes: an address_key()
_KEY = bindparam(ADDRESS)
# A customer has the address as email 1 or as an extra address.
OWNS = or_(
    Customer.email_key == _KEY,
    col(Customer.id).in_(select(CustomerAddress.customer_id).where(CustomerAddress.email_key == _KEY)),
)
_BY_ADDRESS = select(*write_now.table_columns(Customer)).where(OWNS).order_by(col(Customer.id)).limit(1)


def address_key(email: str) -> str:
    """What addresses are compared by (case does not matter); "" for none."""
    return email.strip().lower()


def by_address(session: Session, email: str) -> Customer | None:
    """The customer whose email 1 or extra address this is (case does not matter), or None."""
    key = address_key(email)
    if not key:
        return None
    found = write_now.read(session, Customer, _BY_ADDRESS, {ADDRESS: key})
    return found[0][0] if found else None


def extra_addresses(session: Session, customer_id: int | None) -> list[str]:
    stmt = select(CustomerAddress.email).where(CustomerAddress.customer_id == customer_id)
    return list(session.exec(stmt.order_by(col(CustomerAddress.id))))


def all_addresses(session: Session, customer: Customer) -> list[str]:
    """Email 1 first, then the extra addresses."""
    return [a for a in (customer.email, *extra_addresses(session, customer.id)) if a]
