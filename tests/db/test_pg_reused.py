"""The test databases on PostgreSQL are reused (tests/conftest.py PgReused): each test still gets one
at head with no rows and ids from 1, and one whose schema a test changed is never handed on."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.conftest import PgReused

pytestmark = pytest.mark.e2e  # uses the session's PostgreSQL


def run(url: str, *statements: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as c:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = c.execute(sa.text(statement))
                rows = [tuple(r) for r in result] if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def test_a_reused_database_comes_back_empty_with_ids_from_one_and_a_changed_one_is_dropped(
    pg_url: str, pg_template: str
) -> None:
    reused = PgReused(pg_url, pg_template)
    try:
        first = reused.take()
        insert = "INSERT INTO shopsetting (key, value, updated_at) VALUES ('k', '1', now())"
        run(reused.url(first), insert)
        assert run(reused.url(first), "SELECT nextval('customer_id_seq')") == [(1,)]
        left_open = sa.create_engine(reused.url(first)).connect()  # a test's connection, in a transaction
        left_open.execute(sa.text("SELECT 1 FROM shopsetting FOR UPDATE"))
        reused.free.append(first)
        again = reused.take()  # waits for no lock of the connection left open: it was ended
        assert again == first
        with pytest.raises(sa.exc.OperationalError):
            left_open.execute(sa.text("SELECT 1"))
        left_open.invalidate()
        left_open.close()
        assert run(reused.url(again), "SELECT count(*) FROM shopsetting") == [(0,)]
        assert run(reused.url(again), "SELECT count(*) FROM alembic_version") == [(1,)]
        assert run(reused.url(again), "SELECT nextval('customer_id_seq')") == [(1,)]
        reused.free.append(again)

        changed = reused.take()
        run(reused.url(changed), "ALTER TABLE customer ADD COLUMN nickname VARCHAR(20)")
        reused.free.append(changed)
        fresh = reused.take()
        assert fresh != changed
        columns = "SELECT column_name FROM information_schema.columns WHERE table_name = 'customer'"
        assert ("nickname",) not in run(reused.url(fresh), columns)
        reused.free.append(fresh)
    finally:
        reused.close()
