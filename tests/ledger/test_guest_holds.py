"""Guests' tentative holds, limited per mailbox, per client and in all, counted in the booking's own
transaction: many guests booking at the same moment stop at the limit, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from mailgate import config, db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import guest_holds
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from tests.conftest import write_config
from tests.ledger.conftest import AUTHN
from tests.ledger.test_fitting import NOW, SHOP, THU


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    limits = "\n[booking]\nguest_holds_per_client = 3\n"
    return Context.build(
        config.load(write_config(tmp_path / "shop", AUTHN + limits, db_url=db_url, shop=SHOP))
    )


def hold(ctx: Context, n: int, client: str = "192.0.2.1") -> Result:
    cmd = guest_holds.GuestBook(
        start=THU + timedelta(weeks=n % 4),  # at most two at a time: one for each of the staff
        menu="整体",
        staff=None,
        person=Person(name=f"客{n}", name_kana="キャク", phone=f"0901234{n:04d}", email=f"g{n}@example.jp"),
        client=client,
    )
    with db.transaction(ctx.engine) as s:
        return guest_holds.book(s, ctx.ledger, cmd, Actor("web:guest"), NOW)


def test_guests_racing_from_one_client_stop_at_its_limit(salon: Context) -> None:
    results: list[Result] = []
    start = threading.Barrier(6, timeout=30)

    def attempt(n: int) -> None:
        start.wait()
        results.append(hold(salon, n))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted((r.status, r.code) for r in results) == sorted(
        [(Status.CREATED, "")] * 3 + [(Status.REFUSED, "guest_client")] * 3
    )
    assert hold(salon, 7, client="198.51.100.7").status == Status.CREATED  # another client still can
