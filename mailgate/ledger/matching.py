"""Finding the customer a notice is about: by phone (when the name agrees), then email, then name and
reading."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, false
from sqlmodel import Session, col, or_, select

from mailgate import audit, db, normalize, write_now
from mailgate.audit import Actor
from mailgate.customer_addresses import ADDRESS, OWNS, address_key
from mailgate.models import Customer, CustomerStatus
from mailgate.times import name_key
from mailgate.write_now import add_now

GONE = (CustomerStatus.DELETED, CustomerStatus.MERGED)  # never matched: erased, or now another's
# The memo is for staff to read, not a log: a name that many notices share (a placeholder name, a
# common one with no phone) would otherwise grow it by a line each, a longer row to rewrite each time.
MEMO_NOTES = 2000


@dataclass(frozen=True)
class Person:
    """A customer as a notice, a caller or a form gives them: normalized, "" when not given."""

    name: str = ""
    name_kana: str = ""
    email: str = ""
    phone: str = ""

    @classmethod
    def of(cls, details: dict[str, str]) -> Person:
        return cls(**{f.name: details.get(f.name) or "" for f in fields(cls)})

    def get(self, key: str, default: str = "") -> str:
        return getattr(self, key, default) or default


def same_person(details: Person, customer: Customer) -> bool:
    """Could be the same person: a name missing on either side, the same name written differently
    (spaces, width), or the same reading (髙橋 and 高橋 are both タカハシ)."""
    if not details.name or not customer.name or name_key(details.name) == name_key(customer.name):
        return True
    kana, theirs = details.name_kana, customer.name_kana
    return bool(kana and theirs) and name_key(kana) == name_key(theirs)


def find(session: Session, details: Person) -> Customer | None:
    return match(session, details)[0]


def match(session: Session, details: Person) -> tuple[Customer | None, list[Customer]]:
    """(the customer, the other people with the same phone). Phone, then email, then name and reading;
    a phone alone never makes two different names one customer (a home phone, a family phone)."""
    customer, others, _ = _match(session, details)
    return customer, others


@cache
def _candidates(phone: bool, address: bool, named: bool) -> Select[tuple[Customer, bool]]:
    """The query for the ways a notice gives (built once for each)."""
    live = col(Customer.status).not_in(db.spelled_out(GONE))
    ways = [and_(Customer.phone == bindparam("phone"), live)] if phone else []
    ways += [OWNS] if address else []
    if named:
        ways.append(and_(Customer.name == bindparam("name"), Customer.name_kana == bindparam("kana"), live))
    owns = (OWNS if address else false()).label("owns")
    columns = write_now.table_columns(Customer)
    return select(*columns, owns).where(or_(*ways)).order_by(col(Customer.id))  # type: ignore[return-value]


def _match(session: Session, details: Person) -> tuple[Customer | None, list[Customer], Customer | None]:
    """match, and the customer of the email address (a gone one: not a match). One query finds the
    candidates of all three ways; they are tried in the order above, each in id order."""
    phone, key = details.phone, address_key(details.email)
    name, kana = details.name, details.name_kana
    named = bool(name and kana)
    if not (phone or key or named):
        return None, [], None
    params = {"phone": phone} if phone else {}
    params |= {ADDRESS: key} if key else {}
    params |= {"name": name, "kana": kana} if named else {}
    statement = _candidates(bool(phone), bool(key), named)
    found = write_now.read(session, Customer, statement, params)
    owner = next((c for c, owned in found if owned), None)
    others: list[Customer] = []
    for c, _ in found:
        if phone and c.phone == phone and c.status not in GONE:
            if same_person(details, c):
                return c, [], owner
            others.append(c)
    if owner and owner.status not in GONE:
        return owner, [], owner
    if named:
        by_name = (c for c, _ in found if c.name == name and c.name_kana == kana and c.status not in GONE)
        return next(by_name, None), others, owner
    return None, others, owner


def flag_shared_phone(session: Session, customer: Customer, others: list[Customer], actor: Actor) -> None:
    """A new customer whose phone another person already has: kept apart, and flagged on both
    timelines (`audit --customer` finds it from either side) for an operator to look at."""
    phone = normalize.mask_phone(customer.phone)
    for other in others:
        for this, that in ((customer, other), (other, customer)):
            audit.by(session, "phone_shared", actor, customer_id=this.id, other_customer=that.id, phone=phone)


def duplicates_of(session: Session, customer: Customer) -> list[Customer]:
    """Other live customers with this customer's phone and name (or reading): perhaps the same person
    under a second address, perhaps not; an operator decides."""
    if not customer.phone or not customer.name:
        return []
    me = Person(name=customer.name, name_kana=customer.name_kana)
    live = col(Customer.status).not_in(GONE)
    stmt = select(Customer).where(Customer.phone == customer.phone, Customer.id != customer.id, live)
    return [c for c in session.exec(stmt.order_by(Customer.id)) if c.name and same_person(me, c)]


def lock_keys(details: Person) -> list[str]:
    keys = [f"customer:phone:{details.phone}"] if details.phone else []
    keys += [f"customer:email:{details.email.lower()}"] if details.email else []
    return keys + ([f"customer:name:{details.name}:{details.name_kana}"] if details.name else [])


def lock(session: Session, details: Person) -> None:
    """Two notices about one new customer, applied at once on two nodes, must not create two."""
    db.serialize(session, *lock_keys(details))


_CREATED = "mailgate_customers_created"  # ids of the customers this transaction created


def created_here(session: Session, customer: Customer) -> bool:
    """Whether find_or_create made this customer in this transaction (nothing else can refer to it
    yet). False when not known: a savepoint that rolled back forgets it."""
    created = db.kept_already(session, _CREATED)
    return isinstance(created, set) and customer.id in created


def find_or_create(
    session: Session, details: Person, *, now: datetime, actor: Actor, label: str
) -> Customer | None:
    """The matching customer, with blanks filled in from the notice; a new ledger customer when none
    matches. A different address never replaces email 1: it goes into the memo (`label` says where
    it came from)."""
    if not (details.phone or details.email or details.name):
        return None
    lock(session, details)
    customer, others, owner = _match(session, details)
    if customer is None:
        email = details.email
        taken = email and owner  # looked up by _match: nothing was written since
        customer = Customer(
            email="" if taken else email,
            email_key=None if taken or not email else email.lower(),
            status=CustomerStatus.LEDGER,
            name=details.name,
            name_kana=details.name_kana,
            phone=details.phone,
            created_at=now,
        )
        add_now(session, customer)
        db.kept(session, _CREATED, set).add(customer.id)
        audit.by(session, "customer_created", actor, customer_id=customer.id)
        flag_shared_phone(session, customer, others, actor)
        return customer
    changed: dict[str, str] = {}
    for key in ("name", "name_kana", "phone"):
        if details.get(key) and not getattr(customer, key):
            setattr(customer, key, details.get(key))
            changed[key] = details.get(key)
    email = details.email  # its owner was looked up by _match: nothing was written since
    if email and not customer.email:
        if owner is None:
            customer.email, customer.email_key = email, email.lower()
            changed["email"] = email
    elif email and (owner.id if owner else None) != customer.id and email not in customer.memo:
        line = f"別のメールアドレス: {email}（{label}）"
        if len(customer.memo) + len(line) < MEMO_NOTES:
            customer.memo = f"{customer.memo}\n{line}".strip()
            changed["memo"] = line
        else:  # the audit keeps it
            changed["other_email"] = email
    if changed:
        session.add(customer)
        audit.by(session, "customer_updated", actor, customer_id=customer.id, **changed)
    return customer
