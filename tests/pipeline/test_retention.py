"""Retention: raw mail is kept `[retention] raw_days`, then purged (never a held or failed message's,
which an operator still needs); the row stays without personal fields, so a late redelivery is still
a duplicate. Sent mail loses its text after the same time. `purge --dry-run` shows what would go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mailgate import config, jobs
from mailgate.cli import app
from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.inbound.store import store
from mailgate.models import Message, Outbox, OutboxState
from mailgate.outbound.sender import Sender
from mailgate.pipeline.replay import replay
from mailgate.pipeline.worker import process
from tests.conftest import write_config

NOW = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=100)


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Context:
    return Context.build(
        config.load(write_config(tmp_path / "shop", "[retention]\nraw_days = 90\n", db_url=db_url))
    )


def blank(n: int, sender: str, rcpt: str = "signup@shop.example") -> bytes:
    return f"From: {sender}\r\nTo: {rcpt}\r\nSubject: 登録\r\nMessage-ID: <r{n}@example.jp>\r\n\r\n".encode()


def stored(ctx: Context, raw: bytes, rcpts: list[str], received: datetime) -> list[int]:
    ids = store(ctx.engine, ctx.cfg.spool_dir, raw, rcpts, mail_from="x@example.jp", via="smtp").ids
    with Session(ctx.engine) as s:
        s.exec(update(Message).where(col(Message.id).in_(ids)).values(received_at=received))  # type: ignore[call-overload]
        s.commit()
    return ids


def rows(ctx: Context) -> dict[int, Message]:
    with Session(ctx.engine) as s:
        return {m.id: m for m in s.exec(select(Message)) if m.id is not None}


def readable(ctx: Context, m: Message) -> bool:
    try:
        return bool(spool.read(ctx.engine, ctx.cfg.spool_dir, m.spool_path))
    except FileNotFoundError:
        return False


def purge(ctx: Context, *args: str) -> str:
    done = CliRunner().invoke(
        app, ["--config", str(ctx.cfg.source), "purge", "--now", NOW.isoformat(), *args]
    )
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture
def history(shop: Context) -> dict[str, int]:
    """Messages 100 days old (applied, ignored, held, failed; one held for a second recipient) and one
    from yesterday, each in its final state; the replies sent."""
    [applied] = stored(shop, blank(1, "old@example.jp"), ["signup@shop.example"], OLD)
    process(shop, applied, now=OLD)
    bounce = b"From: MAILER-DAEMON@mx.example.jp\r\nTo: signup@shop.example\r\nSubject: x\r\n\r\nsorry\r\n"
    [ignored] = stored(shop, bounce, ["signup@shop.example"], OLD)
    process(shop, ignored, now=OLD)
    [held] = stored(shop, blank(3, "who@example.jp"), ["postmaster@shop.example"], OLD)
    process(shop, held, now=OLD)
    shared, held_too = stored(
        shop, blank(4, "two@example.jp"), ["signup@shop.example", "abuse@shop.example"], OLD
    )
    process(shop, shared, now=OLD)
    process(shop, held_too, now=OLD)
    [recent] = stored(shop, blank(5, "new@example.jp"), ["signup@shop.example"], NOW - timedelta(days=1))
    process(shop, recent, now=NOW - timedelta(days=1))
    asyncio.run(Sender.build(shop.cfg, shop.engine).send_due())
    with Session(shop.engine) as s:
        s.exec(update(Outbox).where(col(Outbox.cause_message_id) != recent).values(sent_at=OLD))  # type: ignore[call-overload]
        s.commit()
    states = {i: m.state for i, m in rows(shop).items()}
    assert [states[i] for i in (applied, ignored, held, shared, held_too, recent)] == [
        "applied",
        "ignored",
        "held",
        "applied",
        "held",
        "applied",
    ]
    return {"applied": applied, "ignored": ignored, "held": held, "shared": shared, "recent": recent}


def test_a_dry_run_shows_what_would_go_and_changes_nothing(shop: Context, history: dict[str, int]) -> None:
    before = {i: m.model_dump() for i, m in rows(shop).items()}

    out = purge(shop, "--dry-run")

    assert f"message {history['applied']}" in out and f"message {history['ignored']}" in out
    for kept in ("held", "recent", "shared"):
        assert f"message {history[kept]} " not in out
    assert "would purge 2 raw messages and the text of 2 sent mails" in out
    assert {i: m.model_dump() for i, m in rows(shop).items()} == before


def test_old_raw_mail_is_purged_but_never_a_held_or_failed_ones_or_a_recent_one(
    shop: Context, history: dict[str, int]
) -> None:
    purge(shop)

    after = rows(shop)
    for gone in ("applied", "ignored"):
        m = after[history[gone]]
        assert not readable(shop, m)
        assert (m.from_addr, m.mail_from, m.subject, m.header_message_id) == ("", None, "", "")
        assert "intent" not in (m.decision or {}) and m.state in ("applied", "ignored")
    for kept in ("held", "shared", "recent"):  # the shared bytes are the held row's too
        assert readable(shop, after[history[kept]])
    again = store(
        shop.engine,
        shop.cfg.spool_dir,
        blank(1, "old@example.jp"),
        ["signup@shop.example"],
        mail_from=None,
        via="smtp",
    )
    assert again.ids == [] and again.duplicates == [history["applied"]]
    with Session(shop.engine) as s:
        texts = {o.cause_message_id: o.body for o in s.exec(select(Outbox))}
    assert texts[history["applied"]] == "" and texts[history["recent"]] != ""


def test_the_daily_job_purges_once_a_day(shop: Context, history: dict[str, int]) -> None:
    assert jobs.purge_raw(shop, NOW) == 2
    assert jobs.purge_raw(shop, NOW + timedelta(hours=1)) == 0  # the same day: already done
    assert not readable(shop, rows(shop)[history["applied"]])


def test_a_purged_message_is_not_replayed(shop: Context, history: dict[str, int]) -> None:
    purge(shop)
    [result] = replay(shop, [history["applied"]], dry_run=False, operator="test")
    assert (result.now["tag"], result.applied) == ("gone", False)
    assert rows(shop)[history["applied"]].state == "applied"


def test_the_text_of_an_old_withdrawn_mail_is_purged_and_a_recent_one_kept(shop: Context) -> None:
    with Session(shop.engine) as s:
        for n, at in enumerate((OLD, NOW - timedelta(days=1))):
            s.add(
                Outbox(
                    to_addr="hanako@example.jp",
                    to_key="hanako@example.jp",
                    template="booking_reminder",
                    subject="ご予約のお知らせ",
                    body="山田花子様",
                    header_message_id=f"w{n}@shop.example",
                    state=OutboxState.WITHDRAWN,
                    created_at=at,
                )
            )
        s.commit()
    purge(shop)
    with Session(shop.engine) as s:
        assert [o.body for o in s.exec(select(Outbox).order_by(col(Outbox.id)))] == ["", "山田花子様"]
