"""A shop with staff, menus and hours, on SQLite and PostgreSQL, reading the corpus's test DKIM keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate import config
from mailgate.context import Context
from tests.conftest import CORPUS, write_config

SHOP = """staff_alerts = ["staff@shop.example"]
[[shop.staff]]
name = "佐藤"
aliases = ["さとう"]
[[shop.staff]]
name = "田中"
[[shop.menus]]
name = "整体 60分コース"
minutes = 60
[shop.hours]
mon = "10:00-20:00"
tue = "closed"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "09:00-18:00"
sun = "09:00-18:00"
"""
AUTHN = f"""
[authn]
dns_overrides = "{CORPUS / "keys" / "dns.json"}"
trusted_forwarders = ["uketsuke@salon-mail.example"]
"""


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=SHOP)))


@pytest.fixture
def pg_shop(tmp_path: Path, pg_db_url: str) -> Context:
    """Several nodes share one PostgreSQL database (SQLite has a single writer: no such race)."""
    return Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=pg_db_url, shop=SHOP)))
