"""Statements run as their compiled text (plain_sql), on SQLite and PostgreSQL: what they write is
what SQLAlchemy's own execution of the same statement writes, their errors are SQLAlchemy's, and a
statement whose text would change per execution is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mailgate import db, plain_sql
from mailgate.context import Context
from mailgate.models import Customer, Outbox, utcnow

TABLE = Outbox.__table__  # type: ignore[attr-defined]


def _values(n: int) -> dict[str, object]:
    now = utcnow()
    return {
        "to_addr": f"{n}@example.jp",
        "to_key": f"{n}@example.jp",
        "template": "register_link",
        "subject": "件名 ①",
        "body": "本文\r\n",
        "header_message_id": f"{n}@shop.example",
        "links": {"@1": ["register", 7], "nested": {"ok": True}},  # JSON
        "capped": True,  # a boolean
        "created_at": now,  # aware datetimes, stored as UTC
        "next_attempt_at": now + timedelta(minutes=5),
        "sent_at": None,
        **{c: "" for c in ("in_reply_to", "references", "reply_address", "calendar", "last_error")},
        "state": "queued",
        "attempts": 0,
    }


def test_a_plain_insert_stores_what_sqlalchemys_own_execution_stores(db_ctx: Context) -> None:
    statement = sa.insert(TABLE)
    with db.transaction(db_ctx.engine) as s:
        conn = s.connection()
        conn.execute(statement, _values(1))
        plain_sql.run(conn, statement, _values(2))
        rows = conn.execute(sa.select(TABLE).order_by(TABLE.c.id)).mappings().all()
    differ = ("id", "to_addr", "to_key", "header_message_id")
    theirs, ours = ({k: v for k, v in r.items() if k not in differ} for r in rows)
    assert {k: v for k, v in ours.items() if k not in ("created_at", "next_attempt_at")} == {
        k: v for k, v in theirs.items() if k not in ("created_at", "next_attempt_at")
    }
    assert ours["links"] == {"@1": ["register", 7], "nested": {"ok": True}}
    assert ours["capped"] is True and ours["sent_at"] is None
    assert ours["created_at"].utcoffset() == timedelta(0)  # read back as the aware UTC it was
    assert abs(ours["created_at"] - theirs["created_at"]) < timedelta(seconds=5)


def test_a_plain_update_by_named_parameters_writes_them(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        conn = s.connection()
        plain_sql.run(conn, sa.insert(TABLE), _values(1))
        update = (
            sa.update(TABLE)
            .where(TABLE.c.to_key == sa.bindparam("key"))
            .values(state=sa.bindparam("state"), links=sa.bindparam("links"))
        )
        done = plain_sql.run(conn, update, {"key": "1@example.jp", "state": "sent", "links": {"a": 1}})
        assert done.rowcount == 1
        assert conn.execute(sa.select(TABLE.c.state, TABLE.c.links)).one() == ("sent", {"a": 1})


def test_a_plain_statements_error_is_sqlalchemys(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        conn = s.connection()
        customers = Customer.__table__  # type: ignore[attr-defined]
        customer = Customer(email="a@example.jp", email_key="a@example.jp")
        row = {c.key: getattr(customer, c.key) for c in customers.c if c.key != "id"}
        plain_sql.run(conn, sa.insert(customers), row)
        with pytest.raises(sa.exc.IntegrityError):  # email_key is unique
            plain_sql.run(conn, sa.insert(customers), row)
        s.rollback()


def test_a_value_the_statement_would_fill_in_itself_is_refused(db_ctx: Context) -> None:
    """A column default (computed per execution by SQLAlchemy) is not filled in by a plain run."""
    partial = {k: v for k, v in _values(1).items() if k != "state"}
    with db.transaction(db_ctx.engine) as s, pytest.raises(ValueError, match="none for state"):
        plain_sql.run(s.connection(), sa.insert(TABLE), partial)


def test_a_statement_whose_text_changes_per_execution_is_refused(db_ctx: Context) -> None:
    expanding = sa.select(TABLE.c.id).where(TABLE.c.id.in_(sa.bindparam("ids", expanding=True)))
    with db.transaction(db_ctx.engine) as s, pytest.raises(ValueError, match="expanding"):
        plain_sql.run(s.connection(), expanding, {"ids": [1, 2]})
