"""The last add-on item raced against a running `mailgate serve`, on SQLite and PostgreSQL: 20 guests
post the booking page at once, each for a seat of their own (twenty staff at 10:00) and each with
the shop's only rental towel. Exactly one booking holds the towel; everyone
else is told it was just taken (「ちょうど品切れ」) and booked nothing; no page fails."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from mailgate import config
from mailgate.context import Context
from mailgate.models import Booking
from mailgate.shop_tables import MenuItem, StaffMember
from tests.conftest import start_serve, write_config
from tests.e2e.helpers import forms
from tests.ledger.test_fitting import JST

pytestmark = pytest.mark.e2e  # starts a real server

DAY = datetime(2031, 12, 4, tzinfo=JST)  # a Thursday far ahead: nothing depends on today
STAFF = [f"スタッフ{n}" for n in range(1, 21)]  # a seat each at 10:00, and one towel for them all
SHOP = (
    "staff = [" + ", ".join(f'{{ name = "{n}" }}' for n in STAFF) + "]\n"
    + """[[shop.menus]]
name = "整体"
minutes = 60
grid = 15
book_until = "0"
ahead_days = 3650
addons = [{ name = "タオルレンタル", price = 200, stock = 1 }]
[shop.hours]
mon = "closed"
tue = "closed"
wed = "closed"
thu = "10:00-20:00"
fri = "closed"
sat = "closed"
sun = "closed"
"""
)  # fmt: skip
LIMITS = """
[booking]
guest_holds_per_client = 0
guest_holds_total = 0
[web]
max_connections = 300
max_connections_per_client = 300
"""


def test_the_last_add_on_item_raced_by_many_guests_is_handed_out_once(tmp_path: Path, db_url: str) -> None:
    path = write_config(tmp_path / "shop", LIMITS, db_url=db_url, shop=SHOP)
    ctx = Context.build(config.load(path))
    with Session(ctx.engine) as s:
        menu_id = s.exec(select(MenuItem.id).where(MenuItem.name == "整体")).one()
        staff_ids = {m.name: m.id for m in s.exec(select(StaffMember))}
    served = start_serve(path)
    try:
        filled = []
        with httpx.Client(base_url=served.base_url, timeout=60) as http:
            for n, name in enumerate(STAFF):
                query = {"menu": menu_id, "staff": staff_ids[name], "day": f"{DAY:%Y%m%d}", "time": "1000"}
                page = http.get("/book", params=query)
                assert page.status_code == 200, page.text
                [form] = [f for f in forms(page.text) if "csrf" in f["fields"]]
                [towel] = [k for k in form["fields"] if k.startswith("addon")] or ["addon1"]
                details = {"name": f"来店 {n}号", "name_kana": "ライテン", "phone": f"0902222{n:04d}"}
                filled.append({**form["fields"], **details, towel: "1", "email": f"guest{n}@example.jp"})
        pages: list[httpx.Response] = []
        barrier = threading.Barrier(len(filled), timeout=60)

        def guest(fields: dict[str, str]) -> None:
            barrier.wait()
            with httpx.Client(base_url=served.base_url, timeout=60) as http:
                pages.append(http.post("/book", data=fields))

        threads = [threading.Thread(target=guest, args=(f,)) for f in filled]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        assert served.stop() == 0
    with Session(ctx.engine) as s:
        booked = list(s.exec(select(Booking)))
    ctx.engine.dispose()
    assert len(pages) == len(filled) == 20
    assert [p.status_code for p in pages].count(200) == 1 == len(booked)
    refused = [p for p in pages if p.status_code != 200]
    assert all(p.status_code == 409 and "ちょうど品切れ" in p.text for p in refused)
