"""The generated realistic month of a 5-staff shop (scripts/generate_shop.py: 5 staff × 25 working
days × 10 bookings), built once per session and database engine and copied for each test, so the
operator's commands are tried on a ledger that looks like a shop's. A plugin of tests/conftest.py:
any test can ask for `month`, the mailgate.toml of a fresh copy (on SQLite and PostgreSQL):

    def test_x(month: Path) -> None:
        cli(month, "ledger", "--date", "2031-12-03")

The month starts on MONTH_START, far ahead, so nothing depends on today's date; Tuesdays are closed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import _fresh_pg_database
from tests.scripts.test_generate_shop import script

MONTH_START = date(2031, 12, 1)


def _gen() -> ModuleType:
    return script("generate_shop")


def plan():  # type: ignore[no-untyped-def]
    return _gen().Plan(seed=7, start=MONTH_START)


MONTH = plan()


@pytest.fixture(scope="session")
def _month_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gen, where = _gen(), tmp_path_factory.mktemp("month")
    gen.build(gen.write_config(where, gen.db_url(None, where), MONTH), MONTH)
    return where / "var" / "mailgate.db"


@pytest.fixture(scope="session")
def _month_pg(pg_url: str) -> Iterator[str]:
    import sqlalchemy as sa

    gen, name = _gen(), f"mailgate_month_{os.getpid()}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        gen.build(gen.write_config(Path(where), pg_url.rsplit("/", 1)[0] + "/" + name, MONTH), MONTH)
    yield name
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def month(request: pytest.FixtureRequest, tmp_path: Path, dialect: str) -> Iterator[Path]:
    """The mailgate.toml of a fresh copy of the month, on SQLite and on PostgreSQL."""
    gen, where = _gen(), tmp_path / "month"
    if dialect == "sqlite":
        copy = where / "var" / "mailgate.db"
        copy.parent.mkdir(parents=True)
        shutil.copyfile(request.getfixturevalue("_month_sqlite"), copy)
        yield gen.write_config(where, gen.db_url(None, where), MONTH)
        return
    for url in _fresh_pg_database(request, request.getfixturevalue("_month_pg")):
        yield gen.write_config(where, url, MONTH)
