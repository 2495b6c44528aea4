"""What the booking pages' POSTs share: a ledger command run in one transaction that keeps nothing of a
refusal (a link is used only when its action happens, a guest's customer row only with its booking),
the form's key that books a double-submitted form once, and the client a guest's hold counts against."""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable
from typing import NamedTuple

from sqlmodel import Session
from starlette.requests import Request

from mailgate import db
from mailgate.context import Context
from mailgate.ledger.booking_views import BookingView
from mailgate.ledger.results import Result, Status

DONE = frozenset({Status.CREATED, Status.ALREADY, Status.MOVED, Status.CANCELLED, Status.CONFIRMED})
KEY_FIELD = "key"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16}$")


class Outcome(NamedTuple):
    result: Result
    booking: BookingView | None  # the booking after the command, when it was done


class _Undo(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


def act(ctx: Context, command: Callable[[Session], Outcome]) -> Outcome:
    """Run `command` in one transaction; when the ledger refuses, roll everything back."""
    try:
        with db.transaction(ctx.engine) as s:
            outcome = command(s)
            if outcome.result.status not in DONE:
                raise _Undo(outcome.result)
            return outcome
    except _Undo as undo:
        return Outcome(undo.result, None)


def new_key() -> str:
    """A confirmation form's key: the same form posted twice books once."""
    return secrets.token_urlsafe(12)


def form_key(form: dict[str, str], scope: str) -> str | None:
    """The idempotency key of a posted form, scoped (a customer, or guests) so a key typed by hand
    never finds someone else's booking; None for a form without a well-formed key."""
    key = form.get(KEY_FIELD, "")
    return f"web:{scope}:{key}" if _KEY.match(key) else None


def client_of(request: Request) -> str:
    """The address a guest's hold counts against: the client (an IPv6 client by its /64, which one
    host can rotate through). That is the peer, or whom X-Forwarded-For names when the peer is one of
    [web] trusted_proxies (uvicorn believes no other)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if address.version == 6 and not (address.ipv4_mapped or address.is_loopback):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)
