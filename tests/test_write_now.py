"""Rows written at once, on SQLite and PostgreSQL. add_now: a row inserted as add + flush would; a
transaction or savepoint that rolls back takes it out of the session as it takes the ORM's rows.
save_now: a row's changes written by one UPDATE, the row let go of; in a savepoint, left to it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from mailgate import db
from mailgate.context import Context
from mailgate.customer_addresses import by_address
from mailgate.models import Booking, Customer, Message, MessageState, Outbox, Token, utcnow
from mailgate.table_base import Table
from mailgate.write_now import add_now, save_now

NOW = utcnow()


def _customer(email: str) -> Customer:
    return Customer(email=email, email_key=email, name="鈴木花子", created_at=NOW)


def _stored(session: Session, row: Table) -> dict[str, Any]:
    table = type(row).__table__  # type: ignore[attr-defined]
    found = session.connection().execute(sa.select(table).where(table.c.id == row.id)).mappings().one()
    return {k: v for k, v in found.items() if k != "id"}


def _rows(kind: str, customer_id: int) -> Table:
    now = NOW
    if kind == "token":
        return Token(purpose="register", customer_id=customer_id, created_at=now)
    if kind == "outbox":
        return Outbox(
            to_addr="a@example.jp", to_key="a@example.jp", template="register_link", subject="件名",
            body="本文", header_message_id="x@shop.example", links={"@1": ["register", 1]}, created_at=now,
            next_attempt_at=now,
        )  # fmt: skip
    if kind == "outbox_no_links":
        return Outbox(
            to_addr="a@example.jp", to_key="a@example.jp", template="t", subject="s", body="b",
            header_message_id="y@shop.example", created_at=now, next_attempt_at=now,
        )  # fmt: skip
    return Booking(
        source="stores",
        external_id="R1",
        customer_id=customer_id,
        start=now,
        end=now,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize("kind", ["customer", "token", "outbox", "outbox_no_links", "booking"])
def test_the_row_stored_is_the_one_add_and_flush_would_store(db_ctx: Context, kind: str) -> None:
    with db.transaction(db_ctx.engine) as s:
        owner = _customer("owner@example.jp")
        s.add(owner)
        s.flush()
        assert owner.id is not None
        ours, theirs = (
            _customer(f"{n}@example.jp") if kind == "customer" else _rows(kind, owner.id) for n in "ab"
        )
        if kind == "booking":
            theirs.external_id = "other"  # type: ignore[attr-defined]
        add_now(s, ours)
        s.add(theirs)
        s.flush()
        assert ours.id is not None and ours.id != theirs.id
        mine, orm = _stored(s, ours), _stored(s, theirs)
        differ = {"email", "email_key", "external_id", "header_message_id"}
        assert {k: v for k, v in mine.items() if k not in differ} == {
            k: v for k, v in orm.items() if k not in differ
        }


def test_the_row_is_in_the_session_and_later_changes_are_written(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        row = _customer("a@example.jp")
        add_now(s, row)
        assert s.get(Customer, row.id) is row
        assert s.exec(select(Customer).where(Customer.email == "a@example.jp")).one() is row
        row.name = "佐藤"
    with Session(db_ctx.engine) as s:
        assert s.exec(select(Customer.name).where(Customer.id == row.id)).one() == "佐藤"


def test_rows_added_before_it_go_in_first(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        first, second = _customer("first@example.jp"), _customer("second@example.jp")
        s.add(first)
        add_now(s, second)
        assert first.id is not None and second.id is not None and first.id < second.id


def test_a_transaction_rolled_back_leaves_the_row_transient_as_the_orm_does(db_ctx: Context) -> None:
    with Session(db_ctx.engine) as s:
        ours, theirs = _customer("a@example.jp"), _customer("b@example.jp")
        add_now(s, ours)
        s.add(theirs)
        s.flush()
        s.rollback()
        for row in (ours, theirs):
            assert row not in s and sa.inspect(row).transient
        assert s.exec(select(Customer)).all() == []
        again = _customer("c@example.jp")
        add_now(s, again)  # may be given the same id again: nothing stale is in the way
        s.commit()
        assert [c.email for c in s.exec(select(Customer)).all()] == ["c@example.jp"]


def test_in_a_savepoint_that_rolls_back_the_row_leaves_the_session_with_it(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        kept = _customer("kept@example.jp")
        add_now(s, kept)
        savepoint = s.begin_nested()
        gone = _customer("gone@example.jp")
        add_now(s, gone)
        gone_id = gone.id
        savepoint.rollback()
        assert gone not in s and kept in s
        again = _customer("again@example.jp")
        add_now(s, again)  # SQLite gives the freed id again: the session must not still hold it
        assert again.id is not None
        if again.id == gone_id:
            assert s.get(Customer, gone_id) is again
    with Session(db_ctx.engine) as s:
        assert sorted(c.email for c in s.exec(select(Customer)).all()) == [
            "again@example.jp",
            "kept@example.jp",
        ]


def test_an_id_already_in_the_session_is_refused_loudly(db_ctx: Context) -> None:
    """What would happen if a rolled-back row stayed: the guard above is what keeps this away."""
    with db.transaction(db_ctx.engine) as s:
        row = _customer("a@example.jp")
        add_now(s, row)
        twin = _customer("b@example.jp")
        twin.id = row.id
        make_transient_to_detached(twin)
        with pytest.raises(sa.exc.InvalidRequestError, match="already present"):
            s.add(twin)
        s.rollback()


def _message(s: Session) -> Message:
    row = Message(
        dedupe_key="k1",
        rcpt="signup@shop.example",
        via="smtp",
        spool_path="a",
        size=1,
        from_addr="a@example.jp",
    )
    s.add(row)
    s.flush()
    return row


def test_save_now_writes_what_changed_and_lets_go_of_the_row(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        row = _message(s)
        row.state, row.reason, row.decision = (
            MessageState.APPLIED,
            "登録リンクを送信",
            {"outcome": {"tag": "x"}},
        )
        save_now(s, row)
        assert row not in s
        stored = s.exec(select(Message).where(Message.id == row.id)).one()
        assert stored is not row
        assert (stored.state, stored.reason, stored.decision) == (
            MessageState.APPLIED,
            "登録リンクを送信",
            {"outcome": {"tag": "x"}},
        )
        assert stored.from_addr == "a@example.jp"  # what did not change is left as it was
        row.reason = "later"  # let go of: not written
    with Session(db_ctx.engine) as s:
        assert s.exec(select(Message.reason).where(Message.id == row.id)).one() == "登録リンクを送信"


def test_save_now_in_a_savepoint_leaves_the_row_to_the_savepoint(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        row = _message(s)
        savepoint = s.begin_nested()
        row.state = MessageState.APPLIED
        save_now(s, row)
        assert row in s
        savepoint.rollback()
        assert s.exec(select(Message.state).where(Message.id == row.id)).one() == MessageState.RECEIVED


def test_save_now_of_an_unchanged_or_new_row_writes_nothing(db_ctx: Context) -> None:
    statements: list[str] = []
    sa.event.listen(db_ctx.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with db.transaction(db_ctx.engine) as s:
        row = _message(s)
        statements.clear()
        save_now(s, row)
        fresh = Message(dedupe_key="k2", rcpt="signup@shop.example", via="smtp", spool_path="b", size=1)
        save_now(s, fresh)
        assert statements == [] and row not in s


def test_read_gives_the_sessions_own_row_and_sees_its_unwritten_changes(db_ctx: Context) -> None:
    """A customer changed in this transaction and not yet written is found by its new address, and
    is the very object the session holds: a second one under its id would be refused."""
    with db.transaction(db_ctx.engine) as s:
        row = _customer("old@example.jp")
        add_now(s, row)
        row.email, row.email_key = "new@example.jp", "new@example.jp"  # not written yet
        assert by_address(s, "NEW@example.jp") is row
        assert by_address(s, "old@example.jp") is None


def test_read_joins_a_row_not_held_to_the_session_and_its_changes_are_written(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        add_now(s, _customer("a@example.jp"))
    with db.transaction(db_ctx.engine) as s:
        found = by_address(s, "a@example.jp")
        assert found is not None and found in s and s.get(Customer, found.id) is found
        assert found.created_at == NOW.replace(microsecond=NOW.microsecond)  # types as the ORM reads them
        found.name = "佐藤"
    with Session(db_ctx.engine) as s:
        assert s.exec(select(Customer.name)).one() == "佐藤"
