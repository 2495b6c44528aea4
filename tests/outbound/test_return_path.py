"""Every mail goes out with a return path of its own: bounce+<row>-<signature>@ the sender's domain.
The signature is an HMAC under the link secrets (a rotated-out secret still verifies, a changed row
number or signature does not), the local part is [mail] bounce, the Maildir copy carries it as
Return-Path, and SMTP intake takes mail for it (and only for it) on the bounce domain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiosmtpd.smtp import Envelope, Session

from mailgate import config, db
from mailgate.config import Config
from mailgate.context import Context
from mailgate.inbound.smtp import Handler
from mailgate.models import Outbox
from mailgate.outbound import return_path
from mailgate.outbound.sender import Sender
from tests.conftest import write_config
from tests.e2e.helpers import outbox_files, read_mail

OLD, NEW = "an-older-secret-of-the-shop", "the-newest-secret-of-the-shop"


def test_a_token_names_its_row_under_any_secret_still_listed() -> None:
    made = return_path.token([OLD], 42)
    assert made.startswith("42-")
    assert return_path.outbox_id_of(made, [OLD, NEW]) == 42
    assert return_path.outbox_id_of(made.upper(), [OLD, NEW]) == 42
    assert return_path.outbox_id_of(made, [NEW]) is None  # the secret was removed from the list


@pytest.mark.parametrize(
    "tag",
    ["", "42", "-", "42-", "x42-abc", "43-" + return_path.token([NEW], 42)[3:], "4" * 40 + "-0", "４２-0"],
)
def test_a_tag_we_did_not_sign_names_no_row(tag: str) -> None:
    assert return_path.outbox_id_of(tag, [NEW]) is None


def load(tmp_path: Path, mail: str = "", extra: str = "") -> Config:
    return config.load(write_config(tmp_path / "shop", mail=mail, extra=extra))


def test_the_return_path_is_on_the_senders_domain_with_the_configured_local_part(tmp_path: Path) -> None:
    cfg = load(tmp_path, mail='bounce = "errors"')
    assert return_path.address(cfg, [NEW], 7) == f"errors+{return_path.token([NEW], 7)}@shop.example"
    other = load(tmp_path / "b", extra='[outbound]\nsender = "info@elsewhere.example"\n')
    assert other.bounce_domain == "shop.example"  # mail for elsewhere.example does not come here


def test_the_maildir_copy_carries_the_return_path_of_its_row(tmp_path: Path) -> None:
    ctx = Context.build(load(tmp_path))
    with db.transaction(ctx.engine) as s:
        row = Outbox(to_addr="hanako@example.jp", to_key="hanako@example.jp", template="t", subject="件名",
                     body="本文\n", header_message_id="m1@shop.example")  # fmt: skip
        s.add(row)
        s.flush()
        outbox_id = row.id or 0
    sender = Sender.build(ctx.cfg, ctx.engine)
    assert asyncio.run(sender.send_due()) == 1
    [path] = outbox_files(ctx.cfg.outbox_dir)
    msg, _, _ = read_mail(path)
    tag = msg["Return-Path"].strip("<>").partition("+")[2].partition("@")[0]
    assert msg["Return-Path"].endswith("@shop.example>")
    assert return_path.outbox_id_of(tag, ctx.signer.secrets) == outbox_id


@pytest.mark.parametrize(
    ("rcpt", "reply"),
    [
        ("bounce+12-0a1b2c3d4e5f@shop.example", "250 2.1.5 OK"),
        ("Bounce+12-0A1B2C3D4E5F@Shop.Example", "250 2.1.5 OK"),
        ("bounce@shop.example", "250 2.1.5 OK"),
        ("bouncer+12@shop.example", "550 5.1.1 No such user here"),
        ("bounce+12@elsewhere.example", "550 5.7.1 Relaying denied: not a domain of this server"),
    ],
)
def test_smtp_takes_mail_for_the_bounce_address_only(tmp_path: Path, rcpt: str, reply: str) -> None:
    handler = Handler(load(tmp_path), None, lambda: None)
    envelope = Envelope()
    answer = asyncio.run(handler.handle_RCPT(None, Session(asyncio.new_event_loop()), envelope, rcpt, []))  # type: ignore[arg-type]
    assert answer == reply


def test_the_bounce_local_part_cannot_be_another_address_of_the_shop(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="bounce: 'signup' is the local part of another address"):
        load(tmp_path, mail='bounce = "signup"')
