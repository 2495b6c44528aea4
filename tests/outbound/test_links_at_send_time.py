"""Live links are never kept in the database: a queued mail holds a placeholder, the sender puts
the signed URL into the mail it sends, and the row keeps the placeholder after sending."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from mailgate import config, db, schema
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import signup
from mailgate.links import Signer
from mailgate.models import Event, Outbox, Token
from mailgate.outbound.sender import Sender
from tests.conftest import SECRET, write_config


def stored_text(ctx: Context) -> str:
    with Session(ctx.engine) as s:
        rows = [*s.exec(select(Outbox)), *s.exec(select(Event))]
        return "\n".join(str(r.model_dump()) for r in rows)


def sent_body(ctx: Context) -> str:
    [path] = (ctx.cfg.outbox_dir / "new").iterdir()
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return mail.get_body().get_content()  # type: ignore[union-attr]


def test_a_registration_link_is_in_the_sent_mail_and_never_in_the_outbox(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        signup.signup_mail(s, db_ctx.ledger, "taro@example.jp", Actor("test"), datetime.now(UTC))
    links = re.compile(re.escape(db_ctx.cfg.base_url) + r"/[rsm]/")
    assert not links.search(stored_text(db_ctx))

    assert asyncio.run(Sender.build(db_ctx.cfg, db_ctx.engine).send_due()) == 1

    assert not links.search(stored_text(db_ctx))
    [signed] = re.findall(re.escape(db_ctx.cfg.base_url) + r"/r/(\S+)", sent_body(db_ctx))
    with Session(db_ctx.engine) as s:
        [token] = s.exec(select(Token)).all()
    assert db_ctx.signer.verify("register", signed, max_age_seconds=None) == token.id


def test_links_stored_before_the_upgrade_become_placeholders_and_still_work(
    tmp_path: Path, empty_db_url: str
) -> None:
    engine = db.make_engine(empty_db_url)
    schema.upgrade(engine, "0006")
    signer = Signer([SECRET], "https://shop.example")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customer (id, email, email_key, status, name, name_kana, phone, pin_hash,"
                " pin_failures, memo, created_at) VALUES (1, 'a@example.jp', 'a@example.jp', 'active',"
                " '', '', '', '', 0, '', :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text("INSERT INTO token (id, purpose, customer_id, created_at) VALUES (7, 'settings', 1, :t)"),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO outbox (id, created_at, to_addr, to_key, template, subject, body,"
                ' header_message_id, in_reply_to, "references", state, attempts, next_attempt_at,'
                " last_error) VALUES (1, :t, 'a@example.jp', 'a@example.jp', 'settings_link', 'x', :b,"
                " 'm1@shop.example', '', '', 'queued', 0, :t, '')"
            ),
            {"t": now, "b": f"変更はこちら:\n{signer.url('settings', 7)}\n以上"},
        )
    schema.upgrade(engine)
    ctx = Context.build(
        config.load(
            write_config(tmp_path / "shop", '[web]\nbase_url = "https://shop.example"\n', db_url=empty_db_url)
        )
    )
    assert "https://" not in stored_text(ctx)

    assert asyncio.run(Sender.build(ctx.cfg, ctx.engine).send_due()) == 1

    [signed] = re.findall(r"https://shop\.example/s/(\S+)", sent_body(ctx))
    assert ctx.signer.verify("settings", signed, max_age_seconds=None) == 7
    assert "変更はこちら" in sent_body(ctx) and "https://" not in stored_text(ctx)
