"""The link pages on SQLite and on PostgreSQL, through Starlette's TestClient."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailgate.context import Context
from mailgate.web.app import create_app
from tests.web.booking_shop import Clock, booking_context
from tests.web.test_app import make_context


@pytest.fixture
def web_ctx(tmp_path: Path, db_url: str) -> Context:
    """The pages on SQLite and on PostgreSQL."""
    return make_context(tmp_path / "shop", db_url)


@pytest.fixture
def client(web_ctx: Context) -> TestClient:
    return TestClient(create_app(web_ctx), raise_server_exceptions=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop_ctx(tmp_path: Path, db_url: str) -> Context:
    """A shop with staff, menus and hours to book on, on SQLite and on PostgreSQL."""
    return booking_context(tmp_path / "shop", db_url)


@pytest.fixture
def shop_client(shop_ctx: Context, clock: Clock) -> TestClient:
    return TestClient(create_app(shop_ctx, clock), raise_server_exceptions=True)
