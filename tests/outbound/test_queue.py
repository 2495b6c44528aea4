"""Queueing a mail: whatever address or thread a caller hands in, nothing queued is a row the sender
cannot turn into a mail. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import Session, select

from mailgate import db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.models import Customer, Event, Outbox, utcnow


def queue(ctx: Context, to: str, reply_to: str = "") -> Outbox | None:
    with db.transaction(ctx.engine) as s:
        actor = Actor("test", reply_to=reply_to)
        return ctx.mailer.enqueue(
            s,
            to=to,
            template="pin_changed",
            now=utcnow(),
            actor=actor,
            customer=Customer(name="花子"),
            url="https://shop.example/m/x",
        )


def test_an_address_no_mail_can_go_to_is_not_queued_and_the_audit_says_why(db_ctx: Context) -> None:
    # 400 characters would not even fit the outbox's to_addr on PostgreSQL.
    for to in ("@", "hanako@", "a" * 400 + "@example.jp", "a@example.jp\r\nBcc: b@example.jp"):
        assert queue(db_ctx, to) is None
    with Session(db_ctx.engine) as s:
        assert list(s.exec(select(Outbox))) == []
        whys = [e.detail["why"] for e in s.exec(select(Event).where(Event.kind == "reply_unanswerable"))]
    assert len(whys) == 4 and "not an email address: '@'" in whys[0] and "254 octets" in whys[2]


def test_a_thread_id_too_long_for_a_header_line_is_left_out(db_ctx: Context) -> None:
    row = queue(db_ctx, "hanako@example.jp", reply_to="x" * 990 + "@example.jp")
    assert row is not None and (row.in_reply_to, row.references) == ("", "")
