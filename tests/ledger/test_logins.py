"""Wrong PINs on the personal link: locks that grow longer, a cap per link after which the link is
revoked, a mail to the customer at every lock, and a fresh link by blank mail after that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from mailgate import db, tokens
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import customers, logins, signup
from mailgate.links import LinkError
from mailgate.models import Customer, Outbox, Token

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
PIN = "1234"


def registered(ctx: Context) -> tuple[int, int]:
    """(customer id, login token id) of a customer who registered at T0."""
    with db.transaction(ctx.engine) as s:
        customer = Customer(email="hanako@example.jp", email_key="hanako@example.jp", created_at=T0)
        s.add(customer)
        s.flush()
        assert customer.id is not None
        token = tokens.issue(s, "register", customer.id, T0, hours=72)
        details = customers.Details(name="佐藤花子", name_kana="サトウハナコ", phone="09087654321")
        customers.register(s, ctx.ledger, token, details, PIN, T0)
        login = s.exec(select(Token).where(Token.purpose == "login")).one()
        assert login.id is not None
        return customer.id, login.id


def attempt(ctx: Context, customer_id: int, token_id: int, pin: str, now: datetime) -> bool:
    with db.transaction(ctx.engine) as s:
        token = s.get(Token, token_id)
        customer = s.get(Customer, customer_id)
        assert token is not None and customer is not None
        if token.revoked_at is not None:
            raise LinkError("revoked")
        return logins.try_pin(s, ctx.ledger, customer, token, pin, now)


def lock_out(ctx: Context, customer_id: int, token_id: int, now: datetime) -> datetime:
    """Wrong PINs until the account locks; when it is locked until."""
    for _ in range(ctx.cfg.links.pin_attempts):
        assert not attempt(ctx, customer_id, token_id, "0000", now)
    with Session(ctx.engine) as s:
        customer = s.get(Customer, customer_id)
        assert customer is not None
        until = tokens.aware(customer.locked_until)
    assert until is not None
    return until


def mails(ctx: Context, template: str) -> list[Outbox]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Outbox).where(Outbox.template == template).order_by(col(Outbox.id))))


def test_each_lockout_in_a_row_lasts_twice_as_long(shop: Context) -> None:
    customer_id, token_id = registered(shop)
    now, lengths = T0, []
    for _ in range(2):
        until = lock_out(shop, customer_id, token_id, now)
        lengths.append(until - now)
        now = until
    assert lengths == [timedelta(minutes=30), timedelta(minutes=60)]


def test_the_right_pin_starts_the_lockouts_over(shop: Context) -> None:
    customer_id, token_id = registered(shop)
    until = lock_out(shop, customer_id, token_id, T0)
    assert attempt(shop, customer_id, token_id, PIN, until)
    assert lock_out(shop, customer_id, token_id, until) - until == timedelta(minutes=30)


def test_a_lockout_is_mailed_to_the_customer(shop: Context) -> None:
    customer_id, token_id = registered(shop)
    lock_out(shop, customer_id, token_id, T0)
    [mail] = mails(shop, "pin_locked")
    assert mail.to_addr == "hanako@example.jp" and mail.customer_id == customer_id
    assert "10:30" in mail.body  # until when, in the shop's time


def test_a_link_is_revoked_after_its_cap_of_wrong_pins(shop: Context) -> None:
    """240 guesses a day were possible; now a link takes pin_failures_per_link (15), then it is gone."""
    customer_id, token_id = registered(shop)
    cap = shop.cfg.links.pin_failures_per_link
    now = T0
    for _ in range(cap // shop.cfg.links.pin_attempts):
        now = lock_out(shop, customer_id, token_id, now)
    with Session(shop.engine) as s:
        token = s.get(Token, token_id)
        assert token is not None and token.revoked_at is not None
    with pytest.raises(LinkError):
        attempt(shop, customer_id, token_id, PIN, now)
    assert "空メール" in mails(shop, "pin_locked")[-1].body


def test_a_blank_mail_after_the_link_was_revoked_brings_a_fresh_bookmark(shop: Context) -> None:
    customer_id, token_id = registered(shop)
    now = T0
    while True:
        now = lock_out(shop, customer_id, token_id, now)
        with Session(shop.engine) as s:
            if s.get(Token, token_id).revoked_at is not None:  # type: ignore[union-attr]
                break
    with db.transaction(shop.engine) as s:
        signup.signup_mail(s, shop.ledger, "hanako@example.jp", Actor("test"), now)
    [mail] = mails(shop, "settings_link")
    purposes = sorted(purpose for purpose, _ in (mail.links or {}).values())
    assert purposes == ["login", "settings"]
    [(_, fresh)] = [v for v in (mail.links or {}).values() if v[0] == "login"]
    assert attempt(shop, customer_id, fresh, PIN, now)
