"""Blank mail whose sender cannot be answered, or whose Message-ID cannot be quoted in a header line:
found before any reply is queued, so nothing queued can stop the outbox. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select

from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Customer, Message, Outbox, OutboxState, Token
from mailgate.outbound.sender import Sender
from mailgate.pipeline.worker import process


def blank(from_header: str, msgid: str) -> bytes:
    return (
        f"From: {from_header}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <{msgid}>\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n\r\n登録\r\n"
    ).encode()


def put(ctx: Context, raw: bytes) -> int:
    [mid] = store(ctx.engine, ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="file").ids
    return mid


def rows(ctx: Context, model):  # type: ignore[no-untyped-def]
    with Session(ctx.engine) as s:
        return list(s.exec(select(model)))


@pytest.mark.parametrize(
    ("from_header", "why"),
    [
        (" victim2 @ victim.example ", "not an email address: '@'"),  # parses to "@"
        ("a" * 250 + "@example.jp", "longer than 254 octets"),  # no SMTP path takes it
        ("😀" * 70 + "@example.jp", "longer than 254 octets"),  # 291 octets in 81 characters
    ],
)
def test_a_blank_mail_from_an_unanswerable_sender_is_held_with_the_reason_and_nothing_is_queued(
    db_ctx: Context, from_header: str, why: str
) -> None:
    mid = put(db_ctx, blank(from_header, "u1@victim.example"))
    assert process(db_ctx, mid) == "held"
    [message] = rows(db_ctx, Message)
    assert message.reason.startswith("no sender address to answer: ") and why in message.reason
    assert rows(db_ctx, Outbox) == [] and rows(db_ctx, Customer) == [] and rows(db_ctx, Token) == []


def test_a_message_id_too_long_for_a_header_line_gets_an_unthreaded_reply_that_is_sent(
    db_ctx: Context,
) -> None:
    msgid = "x" * 990 + "@example.jp"
    mid = put(db_ctx, blank("hanako@example.jp", msgid))
    assert process(db_ctx, mid) == "applied"
    [row] = rows(db_ctx, Outbox)
    assert (row.in_reply_to, row.references) == ("", "")
    sender = Sender.build(db_ctx.cfg, db_ctx.engine)
    assert asyncio.run(sender.send_due()) == 1
    [row] = rows(db_ctx, Outbox)
    assert row.state == OutboxState.SENT, row.last_error
    [mail] = (db_ctx.cfg.outbox_dir / "new").iterdir()
    assert b"In-Reply-To" not in mail.read_bytes()


def test_a_message_id_that_fits_still_threads_the_reply(db_ctx: Context) -> None:
    msgid = "y" * 900 + "@example.jp"
    process(db_ctx, put(db_ctx, blank("hanako@example.jp", msgid)))
    [row] = rows(db_ctx, Outbox)
    assert (row.in_reply_to, row.references) == (msgid, msgid)
