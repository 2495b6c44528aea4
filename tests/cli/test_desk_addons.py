"""Add-ons at the desk: `mailgate book --addon` holds one from the stock like a page does, refuses
when none is left, and `mailgate bookings` shows staff which add-ons each booking took."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate import config, db
from mailgate.context import Context
from mailgate.models import Customer
from tests.cli.test_desk import refused, run
from tests.conftest import write_config
from tests.e2e.helpers import cli
from tests.ledger.test_addons import SHOP

THU = "2031-12-04"  # far ahead: nothing here depends on today


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Path:
    path = write_config(tmp_path / "shop", db_url=db_url, shop=SHOP)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(phone="08011112222", status="ledger", name="鈴木一郎"))
        s.add(Customer(phone="08033334444", status="ledger", name="佐々木花"))
    ctx.engine.dispose()
    return path


def test_the_desk_books_an_add_on_from_the_stock_and_the_listing_shows_it(shop: Path) -> None:
    towel = ("--menu", "整体", "--addon", "タオルレンタル")
    done = cli(shop, "book", "--customer", "08011112222", *towel, "--at", f"{THU} 13:00")
    assert done["status"] == "created"
    out = refused(shop, "book", "--customer", "08033334444", *towel, "--at", f"{THU} 13:30")
    assert (out["status"], out["code"], out["subject"]) == ("taken", "addon", "タオルレンタル")
    code, listing = run(shop, "bookings", "--date", THU)
    assert code == 0 and "整体 +タオルレンタル(200円)" in listing
