"""Storing before 250: spool file plus rows, deduplicated on redelivery, on SQLite and PostgreSQL."""

import os
import time
from pathlib import Path

from sqlmodel import Session, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.inbound.store import Arrival, dedupe_key, store, store_many
from mailgate.models import Message, RawMessage
from tests.conftest import private, write_config

RAW = (
    b"From: a@example.jp\r\nTo: signup@shop.example\r\nMessage-ID: <m1@example.jp>\r\n"
    b"Subject: x\r\n\r\nbody\r\n"
)


def rows(ctx: Context) -> list[Message]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Message).order_by(Message.id)))


def test_a_stored_message_has_its_bytes_kept_and_a_row(db_ctx: Context) -> None:
    """SQLite: a file in the spool. PostgreSQL: a row every node reads, committed with the message."""
    stored = store(
        db_ctx.engine,
        db_ctx.cfg.spool_dir,
        RAW,
        ["signup@shop.example"],
        mail_from="a@example.jp",
        via="smtp",
    )
    [msg] = rows(db_ctx)
    assert stored.ids == [msg.id]
    assert spool.read(db_ctx.engine, db_ctx.cfg.spool_dir, msg.spool_path) == RAW
    assert (msg.state, msg.from_addr, msg.header_message_id) == ("received", "a@example.jp", "m1@example.jp")
    if db.is_postgres(db_ctx.engine):
        assert msg.spool_path.startswith("db:") and not db_ctx.cfg.spool_dir.exists()
    else:
        assert (db_ctx.cfg.spool_dir / msg.spool_path).read_bytes() == RAW
        assert not list((db_ctx.cfg.spool_dir / "tmp").iterdir())


def test_on_postgresql_the_bytes_kept_as_spool_files_read_back_the_same(
    tmp_path: Path, pg_db_url: str
) -> None:
    """The other way scripts/bench_nodes.py measures (a spool path shared by the nodes): a file, no
    rawmessage row."""
    ctx = Context.build(config.load(write_config(tmp_path, db_url=pg_db_url)))
    [stored] = store_many(
        ctx.engine, ctx.cfg.spool_dir, [Arrival(RAW, ["signup@shop.example"], None, "smtp")], raw_in_db=False
    )
    [msg] = rows(ctx)
    assert stored.ids == [msg.id]
    assert (ctx.cfg.spool_dir / msg.spool_path).read_bytes() == RAW
    assert spool.read(ctx.engine, ctx.cfg.spool_dir, msg.spool_path) == RAW
    with Session(ctx.engine) as s:
        assert s.exec(select(RawMessage)).all() == []
    ctx.engine.dispose()


def test_spool_files_and_directories_are_owner_only_whatever_the_umask(
    ctx: Context, open_umask: None
) -> None:
    store(ctx.engine, ctx.cfg.spool_dir, RAW, ["signup@shop.example"], mail_from=None, via="smtp")
    [msg] = rows(ctx)
    made = [ctx.cfg.spool_dir, ctx.cfg.spool_dir / "tmp", *(ctx.cfg.spool_dir / msg.spool_path).parents]
    made = [p for p in made if ctx.cfg.spool_dir in (p, *p.parents)]
    assert [str(p) for p in [*made, ctx.cfg.spool_dir / msg.spool_path] if not private(p)] == []


def test_a_redelivery_with_new_received_lines_is_recognised(db_ctx: Context) -> None:
    store(
        db_ctx.engine,
        db_ctx.cfg.spool_dir,
        RAW,
        ["signup@shop.example"],
        mail_from="a@example.jp",
        via="smtp",
    )
    again = b"Received: from relay2 by mx; Sat, 28 Nov 2026 10:00:00 +0900\r\n" + RAW
    stored = store(
        db_ctx.engine,
        db_ctx.cfg.spool_dir,
        again,
        ["signup@shop.example"],
        mail_from="a@example.jp",
        via="smtp",
    )
    assert stored.ids == [] and len(stored.duplicates) == 1
    assert len(rows(db_ctx)) == 1


def test_each_local_recipient_gets_its_own_row(db_ctx: Context) -> None:
    stored = store(
        db_ctx.engine,
        db_ctx.cfg.spool_dir,
        RAW,
        ["signup@shop.example", "notices@shop.example"],
        mail_from="a@example.jp",
        via="smtp",
    )
    assert len(stored.ids) == 2
    assert {m.rcpt for m in rows(db_ctx)} == {"signup@shop.example", "notices@shop.example"}
    # One recipient redelivered later is still recognised per recipient.
    assert (
        store(
            db_ctx.engine, db_ctx.cfg.spool_dir, RAW, ["notices@shop.example"], mail_from=None, via="file"
        ).ids
        == []
    )


def test_without_message_id_a_redelivery_with_more_trace_fields_is_the_same_message() -> None:
    a = b"From: a@example.jp\r\n\r\nhello\r\n"
    b = (
        b"Received: from mx by x;\r\n\tMon, 1 Dec 2026\r\nReturn-Path: <a@example.jp>\r\n"
        b"From: a@example.jp\r\n\r\nhello\r\n"
    )
    c = b"From: a@example.jp\r\n\r\nhello again\r\n"
    assert dedupe_key(a)[0] == dedupe_key(b)[0] != dedupe_key(c)[0]
    assert dedupe_key(a)[1].endswith("@derived.mailgate")


def test_without_message_id_two_peoples_blank_mails_are_two_messages(db_ctx: Context) -> None:
    """Feature phones send blank mails with no Message-ID: same (empty) body, different senders."""
    taro = b"From: taro@docomo.ne.jp\r\nTo: signup@shop.example\r\n\r\n"
    hanako = b"From: hanako@ezweb.ne.jp\r\nTo: signup@shop.example\r\n\r\n"
    first = store(
        db_ctx.engine, db_ctx.cfg.spool_dir, taro, ["signup@shop.example"], mail_from=None, via="smtp"
    )
    second = store(
        db_ctx.engine, db_ctx.cfg.spool_dir, hanako, ["signup@shop.example"], mail_from=None, via="smtp"
    )
    assert len(first.ids) == 1 and len(second.ids) == 1 and second.duplicates == []


def test_same_message_id_with_a_different_body_is_a_different_message() -> None:
    a = b"Message-ID: <same@x>\r\n\r\none\r\n"
    b = b"Message-ID: <same@x>\r\n\r\ntwo\r\n"
    assert dedupe_key(a)[0] != dedupe_key(b)[0]


def test_what_a_killed_writer_left_in_spool_tmp_is_cleaned_after_36_hours(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    old, young = tmp / "old.tmp", tmp / "young.tmp"
    for f in (old, young):
        f.write_bytes(b"half a mail")
    stale = time.time() - spool.TMP_MAX_AGE.total_seconds() - 60
    os.utime(old, (stale, stale))
    assert spool.clean_tmp(tmp_path) == [old]
    assert not old.exists() and young.exists()


def test_recipients_that_differ_only_in_case_are_one_row(ctx: Context) -> None:
    rcpts = ["signup@shop.example", "SIGNUP@Shop.Example", "notices@shop.example", "Signup@shop.example"]
    stored = store(ctx.engine, ctx.cfg.spool_dir, RAW, rcpts, mail_from=None, via="file")
    assert len(stored.ids) == 2
    assert [m.rcpt for m in rows(ctx)] == ["signup@shop.example", "notices@shop.example"]


def test_nul_bytes_in_from_and_message_id_are_kept_as_u_fffd_on_both_databases(db_ctx: Context) -> None:
    raw = b"From: a\x00b@example.jp\r\nMessage-ID: <x\x00y@example.jp>\r\nSubject: nul\r\n\r\n \r\n"
    store(db_ctx.engine, db_ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="smtp")
    [msg] = rows(db_ctx)
    assert (msg.from_addr, msg.header_message_id) == ("a\ufffdb@example.jp", "x\ufffdy@example.jp")
    assert spool.read(db_ctx.engine, db_ctx.cfg.spool_dir, msg.spool_path) == raw
