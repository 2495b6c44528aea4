"""Merging two customers who are one person (a second address, a phone call and a mail signup): every
row of the other moves to the one kept, in the caller's transaction.

The other stays as an empty row with status "merged" and merged_into, not deleted: links already
mailed, audit events quoting its id and tables added later that name a customer keep a valid
reference (and `audit --customer` on the old id says where it went). Its details fill the kept
customer's blanks, its address becomes an extra address of the kept one, its live links are revoked.
Rows are found by every foreign key to customer.id in the schema, so a table added later moves too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Table, func, update
from sqlmodel import Session, SQLModel, col, select

from mailgate import audit, db
from mailgate.audit import Actor
from mailgate.followup_tables import WaitEntry, WaitState
from mailgate.ledger.customers import revoke
from mailgate.ledger.extra_addresses import Refused, attach
from mailgate.ledger.matching import GONE
from mailgate.ledger.waitlist import open_key
from mailgate.models import Customer, CustomerStatus


@dataclass
class Merged:
    keep: int
    other: int
    moved: dict[str, int] = field(default_factory=dict)  # table -> rows (a dry run: would move)
    address: str = ""  # the other's email 1, now the kept one's (email 1 if they had none)
    filled: list[str] = field(default_factory=list)  # the kept customer's blanks filled from the other


def _references() -> list[tuple[Table, str]]:
    """(table, column) of every foreign key to customer.id."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "customer" and fk.column.name == "id":
                found.append((table, fk.parent.name))
    return sorted(found, key=lambda t: (t[0].name, t[1]))


def check(session: Session, keep_id: int, other_id: int) -> tuple[Customer, Customer]:
    """Both customers, locked; LookupError or Refused when they cannot be merged."""
    if keep_id == other_id:
        raise Refused(f"customer {keep_id} cannot be merged into itself")
    found = {}
    for i in sorted((keep_id, other_id)):  # one lock order everywhere
        found[i] = session.get(Customer, i, with_for_update=True)
        if found[i] is None:
            raise LookupError(f"no customer {i}: `mailgate customers search` finds them")
    keep, other = found[keep_id], found[other_id]
    assert keep is not None and other is not None
    for who in (keep, other):
        if who.status in GONE:
            into = f" (into {who.merged_into})" if who.merged_into else ""
            raise Refused(f"customer {who.id} is {who.status}{into}: nothing can be merged with it")
    return keep, other


def _counts(session: Session, other_id: int) -> dict[str, int]:
    moved: dict[str, int] = {}
    for table, column in _references():
        n = session.exec(select(func.count()).select_from(table).where(table.c[column] == other_id)).one()
        if n:
            moved[table.name] = moved.get(table.name, 0) + n
    return moved


def merge(
    session: Session, keep_id: int, other_id: int, actor: Actor, now: datetime, dry_run: bool = False
) -> Merged:
    keep, other = check(session, keep_id, other_id)
    done = Merged(keep_id, other_id, moved=_counts(session, other_id), address=other.email)
    done.filled = [k for k in ("name", "name_kana", "phone") if getattr(other, k) and not getattr(keep, k)]
    if dry_run:
        return done
    db.serialize(session, f"customer:email:{other.email_key}")  # as link and signup do for an address
    revoke(session, other_id, None, now)
    _waitlist(session, keep_id, other_id, now)
    _details(session, keep, other, done.filled)
    session.flush()
    for table, column in _references():
        session.execute(update(table).where(table.c[column] == other_id).values({column: keep_id}))
    if done.address:
        attach(session, keep, done.address)
    audit.by(
        session,
        "customer_merged",
        actor,
        customer_id=keep_id,
        other_customer=other_id,
        moved=done.moved,
        filled=done.filled,
    )
    audit.by(session, "customer_merged_into", actor, customer_id=other_id, into=keep_id)
    session.flush()
    session.expire_all()  # the rows the updates moved are read again
    return done


def _waitlist(session: Session, keep_id: int, other_id: int, now: datetime) -> None:
    """One open entry per customer and time: the other's entry for a time the kept one already waits
    for is closed; the rest get the kept customer's key."""
    entries = select(WaitEntry).where(WaitEntry.customer_id == other_id, col(WaitEntry.open_key).is_not(None))
    for entry in session.exec(entries):
        key = open_key(keep_id, entry.start)
        if session.exec(select(WaitEntry.id).where(WaitEntry.open_key == key)).first() is not None:
            entry.state, entry.open_key = WaitState.SKIPPED, None
        else:
            entry.open_key = key
        entry.updated_at = now
        session.add(entry)


def _details(session: Session, keep: Customer, other: Customer, filled: list[str]) -> None:
    """The kept customer's blanks filled; what differs is kept in their memo; the other emptied."""
    for key in filled:
        setattr(keep, key, getattr(other, key))
    notes = [keep.memo, other.memo]
    if other.name and other.name != keep.name:
        notes.append(f"統合した顧客 #{other.id} の名前: {other.name} {other.name_kana}".strip())
    if other.phone and other.phone != keep.phone:
        notes.append(f"統合した顧客 #{other.id} の電話番号: {other.phone}")
    keep.memo = "\n".join(n for n in notes if n)
    other.status, other.merged_into = CustomerStatus.MERGED, keep.id
    other.email, other.email_key, other.memo = "", None, ""
    other.name = other.name_kana = other.phone = other.pin_hash = ""
    other.unreachable_since, other.unreachable_reason = None, ""
    session.add(keep)
    session.add(other)
