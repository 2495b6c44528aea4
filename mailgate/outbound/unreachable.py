"""No automatic mail to an address that bounced (ledger/bounces.py marks it): reminders, vendor
changes passed on, an operator's notice. What answers the customer's own act still goes: a mail
from the address (which clears the mark first) or a link they used just now."""

from __future__ import annotations

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.customer_addresses import by_address
from mailgate.models import Customer, Message


def _answers_them(session: Session, to: str, actor: Actor) -> bool:
    if actor.token_id is not None or actor.name.startswith("link:"):
        return True
    if actor.message_id is None:
        return False
    sender = session.get(Message, actor.message_id)
    return sender is not None and sender.from_addr.lower() == to.lower()


def suppressed(session: Session, to: str, customer_id: int | None, actor: Actor) -> str:
    """Why a mail to `to` must not go ("" when it may): the address is marked unreachable."""
    customer = session.get(Customer, customer_id) if customer_id is not None else by_address(session, to)
    if customer is None or customer.unreachable_since is None:
        return ""
    # The mark is about email 1: an extra address of the same customer may still work.
    if customer.email.lower() != to.lower() or _answers_them(session, to, actor):
        return ""
    since = customer.unreachable_since.date().isoformat() if customer.unreachable_since else ""
    return f"suppressed: {to} unreachable since {since} ({customer.unreachable_reason})"
