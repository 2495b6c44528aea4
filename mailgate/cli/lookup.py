"""The one customer an operator names: #ID (or a short number), an address or a phone number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from mailgate.cli.common import fail

if TYPE_CHECKING:
    from mailgate.context import Context


def one_customer(c: Context, given: str) -> int:
    """Its id; nobody or several (a shared home phone) exit 1 saying which ids to choose from."""
    from mailgate.ledger.customers import find_for_operator

    with Session(c.engine) as s:
        who = find_for_operator(s, f"#{given}" if given.isdigit() and len(given) < 10 else given)
    if not who:
        raise fail(f"no customer with id, address or phone {given}", 1)
    if len(who) > 1:
        ids = ", ".join(f"#{x.id} {x.name}" for x in who)
        raise fail(f"{len(who)} customers share {given}: {ids}; give one #ID", 1)
    return who[0].id or 0
