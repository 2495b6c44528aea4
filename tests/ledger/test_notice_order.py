"""A vendor notice applies at most once whatever wrapper it comes in, and a change older than the last
one applied to its booking does not apply: booked at 10:00, moved to 13:00 then 17:00, the first change
forwarded again must not move it back. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from mailgate.context import Context
from mailgate.models import Booking, Message
from mailgate.pipeline.replay import replay
from tests import notices
from tests.authn.helpers import inline_forward, outer, rfc822_part, signed, text_part
from tests.ledger.test_notices import deliver as deliver_all
from tests.ledger.test_notices import message

TEN = "2026年12月03日 (木) 10:00 ~ 11:00"
ONE = "2026年12月03日 (木) 13:00 ~ 14:00"
FIVE = "2026年12月03日 (木) 17:00 ~ 18:00"
THREE = "2026年12月03日 (木) 15:00 ~ 16:00"


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-26T{hhmm}:00+09:00")


def deliver(ctx: Context, raw: bytes) -> int:
    [mid] = deliver_all(ctx, raw)
    return mid


def booked_at(ctx: Context) -> str:
    with Session(ctx.engine) as s:
        [booking] = s.exec(select(Booking)).all()
        return booking.start.astimezone(ctx.cfg.tz).strftime("%H:%M")


def attached(raw: bytes) -> bytes:
    """Forwarded again by the trusted forwarder as an attachment: a new wrapper, a new Message-ID."""
    return signed(outer([text_part("念のため再送します"), rfc822_part(raw)]), "salon-mail.example", "m1")


def pasted(raw: bytes) -> bytes:
    """Pasted inline by the trusted forwarder: no signed date survives."""
    from mailgate.mail.parse import parse

    mail = parse(raw)
    paste = (
        "---------- Forwarded message ---------\n"
        "From: STORES 予約 <noreply@coubic.com>\n"
        f"Date: {mail.date:%Y年%m月%d日 %H:%M}\n"
        f"Subject: {mail.subject}\n"
        "To: <owner@salon-mail.example>\n\n" + mail.text
    )
    return signed(inline_forward(paste), "salon-mail.example", "m1")


def change(when: str, before: str, sent: str) -> bytes:
    return notices.stores_changed("87246923", when, before, date=at(sent))


def moved_twice(ctx: Context) -> bytes:
    """Booked at 10:00, moved to 13:00, then to 17:00; returns the first change."""
    deliver(ctx, notices.stores_booked("87246923", TEN, date=at("09:00")))
    first = change(ONE, TEN, "10:00")
    assert message(ctx, deliver(ctx, first)).state == "applied"
    assert message(ctx, deliver(ctx, change(FIVE, ONE, "11:00"))).state == "applied"
    assert booked_at(ctx) == "17:00"
    return first


def test_the_first_change_in_a_new_wrapper_does_not_move_the_booking_back(shop: Context) -> None:
    first = moved_twice(shop)
    again = message(shop, deliver(shop, attached(first)))
    assert booked_at(shop) == "17:00"
    assert again.state == "applied" and "already applied by message" in again.reason, again.reason


def test_an_older_change_in_another_notice_is_held_with_the_reason(shop: Context) -> None:
    moved_twice(shop)
    older = message(shop, deliver(shop, change(THREE, TEN, "10:30")))
    assert booked_at(shop) == "17:00"
    assert older.state == "held", older.reason
    assert "older than" in older.reason


def test_changes_arriving_out_of_order_end_at_the_newest(shop: Context) -> None:
    deliver(shop, notices.stores_booked("87246923", TEN, date=at("09:00")))
    newest = message(shop, deliver(shop, change(FIVE, ONE, "11:00")))
    assert newest.state == "applied" and booked_at(shop) == "17:00"
    late = message(shop, deliver(shop, change(ONE, TEN, "10:00")))
    assert late.state == "held" and booked_at(shop) == "17:00"


def test_an_inline_paste_that_would_undo_a_later_change_is_held(shop: Context) -> None:
    first = moved_twice(shop)
    paste = message(shop, deliver(shop, pasted(first)))
    assert booked_at(shop) == "17:00"
    assert paste.state == "held", paste.reason
    assert "no signed date" in paste.reason


def test_an_inline_paste_of_the_next_change_applies(shop: Context) -> None:
    moved_twice(shop)
    paste = message(shop, deliver(shop, pasted(change(THREE, FIVE, "12:00"))))
    assert paste.state == "applied", paste.reason
    assert booked_at(shop) == "15:00"


def test_the_newest_change_replayed_changes_nothing_and_the_older_stays_held(shop: Context) -> None:
    moved_twice(shop)
    held = deliver(shop, change(THREE, TEN, "10:30"))
    with Session(shop.engine) as s:
        ids = [m.id for m in s.exec(select(Message).order_by(Message.id)).all()]
    results = replay(shop, [i for i in ids if i is not None], dry_run=False, operator="test")
    assert booked_at(shop) == "17:00"
    assert message(shop, held).state == "held"
    assert {r.now["tag"] for r in results if r.message_id != held} <= {"already"}
