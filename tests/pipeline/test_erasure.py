"""退会 and an operator's erase: afterwards nothing of the person is found in the database, the spool
or var/ (APPI), bookings keep an anonymous customer, and a late redelivery of their mail is still a
duplicate."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from mailgate import config, db
from mailgate.cli import app
from mailgate.context import Context
from mailgate.customer_addresses import CustomerAddress
from mailgate.inbound.store import store
from mailgate.ledger import customers, logins
from mailgate.models import Booking, Customer, Outbox, Token
from mailgate.outbound.sender import Sender
from mailgate.pipeline.worker import process_pending
from mailgate.web.app import create_app
from tests.conftest import CORPUS, write_config
from tests.ledger.conftest import AUTHN, SHOP
from tests.privacy import where_found

ADDRESS = "taro@example.jp"
# As the customer typed them, and as the vendor's notice wrote them.
PERSON = [
    "山田太郎",
    "山田 太郎",
    "ヤマダタロウ",
    "ヤマダ タロウ",
    "09012345678",
    "090-1234-5678",
    ADDRESS,
    "yamada.taro@example.jp",
]
BLANK = f"From: {ADDRESS}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <b1@x.jp>\r\n\r\n".encode()


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Context:
    """The notice's day (2026-12-03) is a holiday: its booking is flagged and the staff get a mail."""
    holidays = SHOP.replace("[[shop.staff]]", "holidays = [2026-12-03]\n[[shop.staff]]", 1)
    return Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=holidays)))


def deliver(ctx: Context, raw: bytes, rcpt: str) -> None:
    store(ctx.engine, ctx.cfg.spool_dir, raw, [rcpt], mail_from=None, via="smtp", client="192.0.2.7")
    process_pending(ctx)
    asyncio.run(Sender.build(ctx.cfg, ctx.engine).send_due())


def a_customers_life(ctx: Context) -> int:
    """A blank mail, registration, a vendor's booking flagged for the staff: every mail sent."""
    deliver(ctx, BLANK, "signup@shop.example")
    now = datetime.now(UTC)
    with db.transaction(ctx.engine) as s:
        token = s.exec(select(Token)).one()
        details = customers.Details(name="山田太郎", name_kana="ヤマダタロウ", phone="09012345678")
        customers.register(s, ctx.ledger, token, details, "1234", now)
        customer_id = token.customer_id
    deliver(ctx, (CORPUS / "stores" / "booked-01.eml").read_bytes(), "notices@shop.example")
    with Session(ctx.engine) as s:
        [booking] = s.exec(select(Booking)).all()
        assert booking.customer_id == customer_id
    assert where_found(ctx, PERSON), "the person is there to be erased"
    return customer_id


def sqlite_files(ctx: Context) -> list[Path]:
    if db.is_postgres(ctx.engine):
        return []
    path = Path(str(ctx.engine.url.database))
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


def assert_erased(ctx: Context, customer_id: int, *also: str) -> None:
    assert where_found(ctx, [*PERSON, *also], sqlite_files(ctx)) == {}
    with Session(ctx.engine) as s:
        [booking] = s.exec(select(Booking)).all()
        customer = s.get(Customer, customer_id)
        assert customer is not None and booking.customer_id == customer_id  # kept, anonymous
        assert (customer.status, customer.email, customer.name) == ("deleted", "", "")
    again = store(ctx.engine, ctx.cfg.spool_dir, BLANK, ["signup@shop.example"], mail_from=None, via="smtp")
    assert again.ids == [] and again.duplicates, "a late redelivery is still a duplicate"


def test_after_taikai_nothing_of_the_customer_is_left(shop: Context) -> None:
    customer_id = a_customers_life(shop)
    with db.transaction(shop.engine) as s:
        customer = s.get(Customer, customer_id)
        assert customer is not None
        settings = logins.open_settings(s, shop.ledger, customer, datetime.now(UTC))
    path = settings.removeprefix(shop.cfg.base_url)
    client = TestClient(create_app(shop))
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert csrf
    done = client.post(path, data={"op": "delete", "confirm": "yes", "csrf": csrf.group(1)})
    assert done.status_code == 200 and "削除しました" in done.text

    assert_erased(shop, customer_id)


def test_an_operators_erase_leaves_nothing_of_the_customer(shop: Context) -> None:
    customer_id = a_customers_life(shop)
    runner, cfg = CliRunner(), ["--config", str(shop.cfg.source)]
    noted = runner.invoke(
        app, [*cfg, "note", f"#{customer_id}", "--title", "山田 太郎様より電話 090-1234-5678"]
    )
    assert noted.exit_code == 0, noted.output

    done = runner.invoke(app, [*cfg, "customers", "erase", str(customer_id), "--yes"])

    assert done.exit_code == 0, done.output
    assert f"erased customer {customer_id}" in done.output
    assert_erased(shop, customer_id)


def test_mail_from_a_linked_address_reaches_the_customer_and_the_erase_takes_it_too(shop: Context) -> None:
    """A customer who changed phones: the operator links the new address, a blank mail from it is the
    registered customer's (a settings link, no new customer); erasing them leaves nothing of it."""
    customer_id = a_customers_life(shop)
    new = "taro.new@docomo.ne.jp"
    operator = ["--config", str(shop.cfg.source), "customers"]
    linked = CliRunner().invoke(app, [*operator, "link", str(customer_id), new])
    assert linked.exit_code == 0, linked.output

    deliver(
        shop, BLANK.replace(ADDRESS.encode(), new.encode()).replace(b"<b1@", b"<b2@"), "signup@shop.example"
    )

    with Session(shop.engine) as s:
        assert [c.id for c in s.exec(select(Customer))] == [customer_id]
        settings = s.exec(select(Token).where(Token.purpose == "settings")).one()
        assert settings.customer_id == customer_id
        assert [o.template for o in s.exec(select(Outbox).where(Outbox.to_addr == new))] == ["settings_link"]
    done = CliRunner().invoke(app, [*operator, "erase", str(customer_id), "--yes"])
    assert done.exit_code == 0, done.output
    assert_erased(shop, customer_id, new)
    with Session(shop.engine) as s:
        assert s.exec(select(CustomerAddress)).all() == []
