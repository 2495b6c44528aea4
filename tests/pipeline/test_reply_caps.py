"""Blank mails cannot make mailgate spray mail: the per-address cap keys on the mailbox, not its
spelling; each client and all clients together get a bounded number of automatic replies and new
customers an hour; a repeated blank mail gets the same link again, spaced; mail owed to a customer
who acted through a link is not capped; a reply that was not sent is held, for an operator to see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mailgate import config, db, tokens
from mailgate.cli import app
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.ledger import customers
from mailgate.models import Customer, Message, Outbox, Token
from mailgate.pipeline.worker import process
from tests.conftest import write_config

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Callable[..., Context]:
    """A shop with these [mail] limits (the others are the defaults)."""

    def made(**limits: int) -> Context:
        mail = "\n".join(f"{k} = {v}" for k, v in limits.items())
        return Context.build(config.load(write_config(tmp_path / "shop", db_url=db_url, mail=mail)))

    return made


_sequence = iter(range(10**6))


def blank(ctx: Context, sender: str, at: datetime = T0, client: str | None = "192.0.2.7") -> str | None:
    """A blank mail from `sender`, stored as if from SMTP client `client`, processed at `at`."""
    n = next(_sequence)
    raw = (
        f"From: {sender}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <b{n}@example.jp>\r\n\r\n"
    ).encode()
    [mid] = store(
        ctx.engine, ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="smtp", client=client
    ).ids
    return process(ctx, mid, now=at)


def mails(ctx: Context) -> list[Outbox]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Outbox).order_by(col(Outbox.id))))


def messages(ctx: Context) -> list[Message]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Message).order_by(col(Message.id))))


def count(ctx: Context, model: type) -> int:
    with Session(ctx.engine) as s:
        return len(s.exec(select(model)).all())


def test_the_address_cap_keys_on_the_mailbox_not_its_spelling(shop: Callable[..., Context]) -> None:
    capped = shop(replies_per_hour=3)
    spellings = ["victim@x.example", "victim@x.example.", "Victim+a@X.example", "victim+b@x.example"]
    for i, sender in enumerate(spellings):
        blank(capped, sender, T0 + timedelta(minutes=i))
    assert len(mails(capped)) == 3  # replies_per_hour
    last = messages(capped)[-1]
    assert (last.state, last.reason) == (
        "held",
        "reply suppressed: more than 3 mails to this address (victim@x.example) in an hour",
    )


def test_an_address_literal_gets_no_reply(shop: Callable[..., Context]) -> None:
    capped = shop()
    assert blank(capped, "victim@[192.0.2.1]") == "held"
    assert mails(capped) == [] and count(capped, Customer) == 0
    assert "address literal" in messages(capped)[0].reason


def test_a_repeated_blank_mail_gets_the_same_link_spaced_and_a_few_times_a_day(
    shop: Callable[..., Context],
) -> None:
    capped = shop(link_resend_minutes=10, link_mails_per_day=3)
    minute = timedelta(minutes=1)
    outcomes = [blank(capped, "taro@example.jp", T0 + m * minute) for m in (0, 1, 9, 10, 15, 21, 40, 60)]
    assert outcomes == ["applied"] * 8
    sent = mails(capped)
    # At 0, 10 and 21 minutes; at 1, 9 and 15 it was too soon, at 40 and 60 the day's three were sent.
    assert [m.created_at for m in sent] == [T0, T0 + 10 * minute, T0 + 21 * minute]
    assert count(capped, Token) == 1, "never a new token per mail"
    [token_id] = {next(iter(m.links.values()))[1] for m in sent}  # type: ignore[union-attr]
    reasons = [m.reason for m in messages(capped)]
    assert reasons[1].startswith("registration link sent at 10:00 and still valid: not sent again")
    # A day later the same link (valid for 72 hours) is sent again.
    assert blank(capped, "taro@example.jp", T0 + timedelta(hours=25)) == "applied"
    assert len(mails(capped)) == 4 and count(capped, Token) == 1
    assert list(mails(capped)[-1].links.values()) == [["register", token_id]]  # type: ignore[union-attr]


def test_each_client_gets_a_bounded_number_of_new_customers_an_hour(shop: Callable[..., Context]) -> None:
    capped = shop(new_customers_per_client_hour=5)
    for i in range(6):
        blank(capped, f"stranger{i}@example.jp", T0 + timedelta(minutes=i), client="203.0.113.9")
    assert count(capped, Customer) == 5 and len(mails(capped)) == 5
    last = messages(capped)[-1]
    assert last.state == "held"
    assert last.reason == "reply suppressed: more than 5 new customers from client 203.0.113.9 in an hour"
    # Another client is not held back by this one.
    assert (
        blank(capped, "neighbour@example.jp", T0 + timedelta(minutes=7), client="198.51.100.1") == "applied"
    )


def test_each_client_gets_a_bounded_number_of_automatic_replies_an_hour(shop: Callable[..., Context]) -> None:
    capped = shop(replies_per_client_hour=4)
    for i in range(5):
        blank(capped, f"a{i}@example.jp", T0 + timedelta(minutes=i), client="203.0.113.9")
    assert len(mails(capped)) == 4
    assert messages(capped)[-1].reason == (
        "reply suppressed: more than 4 automatic replies to mail from client 203.0.113.9 in an hour"
    )
    assert blank(capped, "b@example.jp", T0 + timedelta(minutes=6), client="198.51.100.1") == "applied"


def test_all_clients_together_get_a_bounded_number_of_replies(shop: Callable[..., Context]) -> None:
    capped = shop(replies_total_hour=6)
    for i in range(7):
        blank(capped, f"a{i}@example.jp", T0 + timedelta(minutes=i), client=f"198.51.100.{i}")
    assert len(mails(capped)) == 6
    assert messages(capped)[-1].reason == "reply suppressed: more than 6 automatic replies in an hour"
    # An hour later there is room again.
    assert blank(capped, "later@example.jp", T0 + timedelta(minutes=70), client="198.51.100.1") == "applied"


def test_all_clients_together_get_a_bounded_number_of_new_customers(shop: Callable[..., Context]) -> None:
    capped = shop(new_customers_total_hour=5)
    for i in range(6):
        blank(capped, f"a{i}@example.jp", T0 + timedelta(minutes=i), client=f"198.51.100.{i}")
    assert count(capped, Customer) == 5
    assert messages(capped)[-1].reason == "reply suppressed: more than 5 new customers in an hour"


def test_mail_read_by_imap_or_from_files_is_limited_in_all_but_not_per_client(
    shop: Callable[..., Context],
) -> None:
    capped = shop(replies_per_client_hour=2, replies_total_hour=4)
    for i in range(5):
        blank(capped, f"a{i}@example.jp", T0 + timedelta(minutes=i), client=None)
    assert len(mails(capped)) == 4


def test_replies_a_customer_asked_for_through_a_link_do_not_use_up_the_cap(
    shop: Callable[..., Context],
) -> None:
    """Register, ask for settings, change the PIN, ask again: all answered (3 an hour per address)."""
    capped = shop(replies_per_hour=3)
    minute = timedelta(minutes=1)
    assert blank(capped, "hanako@example.jp", T0) == "applied"
    with db.transaction(capped.engine) as s:
        token = s.exec(select(Token)).one()
        details = customers.Details(name="佐藤花子", name_kana="サトウハナコ", phone="09087654321")
        customers.register(s, capped.ledger, token, details, "1234", T0 + minute)
    assert blank(capped, "hanako@example.jp", T0 + 2 * minute) == "applied"  # a settings link
    with db.transaction(capped.engine) as s:
        customer = s.exec(select(Customer)).one()
        settings = s.exec(select(Token).where(Token.purpose == "settings")).one()
        tokens.use(s, settings, T0 + 3 * minute)
        customers.change_pin(
            s, capped.ledger, customer, "5678", "link:settings:2", settings.id, T0 + 3 * minute
        )
    assert blank(capped, "hanako@example.jp", T0 + 4 * minute) == "applied"
    assert [m.template for m in mails(capped)] == [
        "register_link",
        "registered",
        "settings_link",
        "pin_changed",
        "settings_link",
    ]
    assert all("sent" in m.reason for m in messages(capped))


def test_a_suppressed_reply_is_listed_with_the_held_messages(shop: Callable[..., Context]) -> None:
    capped = shop()
    blank(capped, "victim@[192.0.2.1]")
    listed = CliRunner().invoke(app, ["--config", str(capped.cfg.source), "messages", "--state", "held"])
    assert listed.exit_code == 0, listed.output
    assert "victim@[192.0.2.1]" in listed.output and "reply suppressed" in listed.output
