"""A ledger command holds one database connection, never a second one while its transaction is open:
with a busy pool (a burst of booking pages, each a thread holding a connection and waiting for the
write lock) a command that waited for a second connection would wait for itself, and every page
would fail after the pool's timeout. Checked by counting each thread's connections from the pool,
on SQLite and PostgreSQL, for every way a booking is made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import fitting, guest_holds
from mailgate.ledger.fit_rules import DESK
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Status
from mailgate.models import Customer
from tests.ledger.test_fitting import NOW, THU, WEB, guest
from tests.pipeline.test_book_by_mail import HANAKO, mail_in, salon  # noqa: F401  (the fixture)


@contextmanager
def most_connections_per_thread(ctx: Context) -> Iterator[list[int]]:
    """The most connections any one thread held at once while the block ran: [n] after it."""
    held: dict[int, int] = {}
    most = [0]

    def checkout(*_: Any) -> None:
        me = threading.get_ident()
        held[me] = held.get(me, 0) + 1
        most[0] = max(most[0], held[me])

    def checkin(*_: Any) -> None:
        held[threading.get_ident()] = held.get(threading.get_ident(), 1) - 1

    ctx.engine.dispose()  # fresh connections: each checkout is counted from here
    event.listen(ctx.engine.pool, "checkout", checkout)
    event.listen(ctx.engine.pool, "checkin", checkin)
    try:
        yield most
    finally:
        event.remove(ctx.engine.pool, "checkout", checkout)
        event.remove(ctx.engine.pool, "checkin", checkin)


def test_a_booking_by_page_desk_or_guest_form_holds_one_connection(salon: Context) -> None:  # noqa: F811
    with db.transaction(salon.engine) as s:
        me = s.exec(select(Customer.id).where(Customer.email_key == HANAKO)).one()
    with most_connections_per_thread(salon) as most:
        with db.transaction(salon.engine) as s:
            cmd = fitting.FitBook(source="web", start=THU, menu="整体", customer_id=me)
            assert fitting.book(s, salon.ledger, cmd, WEB, NOW).status == Status.CREATED
        with db.transaction(salon.engine) as s:
            cmd = fitting.FitBook(source="desk", start=THU, menu="整体", person=guest(2), policy=DESK)
            assert fitting.book(s, salon.ledger, cmd, WEB, NOW).status == Status.CREATED
        with db.transaction(salon.engine) as s:
            hold = guest_holds.GuestBook(
                start=THU + timedelta(hours=2),
                menu="整体",
                staff=None,
                person=Person("来店 太郎", "ライテン タロウ", "guest@example.jp", "09011112222"),
                client="192.0.2.1",
            )
            assert guest_holds.book(s, salon.ledger, hold, WEB, NOW).status == Status.CREATED
    assert most == [1]


def test_a_booking_by_mail_holds_one_connection(salon: Context) -> None:  # noqa: F811
    with most_connections_per_thread(salon) as most:
        listed = mail_in(salon, "12/3 午後 整体")
        assert listed.state == "applied", listed.reason
    assert most == [1]
