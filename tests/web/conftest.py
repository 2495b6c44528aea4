"""The link pages on SQLite and on PostgreSQL, through Starlette's TestClient."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailgate.context import Context
from mailgate.web.app import create_app
from tests.web.test_app import make_context


@pytest.fixture
def web_ctx(tmp_path: Path, db_url: str) -> Context:
    """The pages on SQLite and on PostgreSQL."""
    return make_context(tmp_path / "shop", db_url)


@pytest.fixture
def client(web_ctx: Context) -> TestClient:
    return TestClient(create_app(web_ctx), raise_server_exceptions=True)
