"""Reminders and bounces together, on SQLite and PostgreSQL: once a hard bounce marks a customer's
address as failing, their next reminder is kept as `suppressed` (with the reason) and never sent;
after they write in again (the mark cleared) the next reminder goes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from mailgate import db
from mailgate.context import Context
from mailgate.models import Customer, OutboxState
from tests.ledger.test_reminders import EVE, book, remind, rows, salon  # noqa: F401  (the fixture)


def mark_unreachable(ctx: Context, reason: str) -> None:
    with db.transaction(ctx.engine) as s:
        customer = s.exec(select(Customer)).one()
        customer.unreachable_since = EVE - timedelta(days=1)
        customer.unreachable_reason = reason
        s.add(customer)


def test_a_customer_whose_mail_bounced_is_not_reminded(salon: Context) -> None:  # noqa: F811
    book(salon)
    mark_unreachable(salon, "550 5.1.1 user unknown (docomo)")
    remind(salon, EVE)
    [row] = rows(salon)
    assert row.state == OutboxState.SUPPRESSED and "unreachable" in (row.last_error or ""), row.last_error
    with Session(salon.engine) as s:
        assert s.exec(select(Customer)).one().unreachable_since is not None


def test_a_reminder_goes_again_once_the_mark_is_cleared(salon: Context) -> None:  # noqa: F811
    book(salon)
    mark_unreachable(salon, "550 5.1.1 user unknown")
    with db.transaction(salon.engine) as s:  # they wrote in again: the address works
        customer = s.exec(select(Customer)).one()
        customer.unreachable_since = None
        s.add(customer)
    remind(salon, EVE)
    [row] = rows(salon)
    assert row.state == OutboxState.QUEUED
