"""Booking by mail alone, from a stored mail to the answer the outbox holds, on SQLite and PostgreSQL:
a request gets a numbered list with its own reply address, a number in reply books that time, a time
taken meanwhile or a list used, expired or not the sender's gets a fresh list, キャンセル gets the
booking's cancel link, and an unregistered sender the registration link."""

from __future__ import annotations

import email
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import icalendar
import pytest
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.ledger import answers, booking_links
from mailgate.models import Booking, Customer, Message, Outbox, ReplyKey
from mailgate.outbound.sender import Sender
from mailgate.pipeline.worker import process
from tests.conftest import write_config
from tests.ledger.conftest import AUTHN
from tests.ledger.test_fitting import JST, NOW, SHOP

HANAKO = "hanako@docomo.ne.jp"
JIRO = "jiro@example.jp"


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    ctx = Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=SHOP)))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(email=HANAKO, email_key=HANAKO, status="active", name="山田花子"))
        s.add(Customer(email=JIRO, email_key=JIRO, status="active", name="鈴木次郎"))
    return ctx


_sent = 0


def mail_in(
    ctx: Context,
    text: str,
    *,
    sender: str = HANAKO,
    to: str = "book@shop.example",
    in_reply_to: str = "",
    subject: str = "",
    now: datetime = NOW,
    state: str = "applied",
) -> Message:
    """A mail to the booking address, stored and processed at `now`."""
    global _sent
    _sent += 1
    thread = f"In-Reply-To: <{in_reply_to}>\r\n" if in_reply_to else ""
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <m{_sent}@phone.example>\r\n{thread}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + text.encode()
    [mid] = store(ctx.engine, ctx.cfg.spool_dir, raw, [to], mail_from=sender, via="smtp").ids
    assert process(ctx, mid, now) == state
    with Session(ctx.engine) as s:
        message = s.get(Message, mid)
        assert message is not None
        return message


def answer(ctx: Context, to: str = HANAKO) -> tuple[Outbox, EmailMessage]:
    """The newest mail to `to`, as the sender would send it."""
    with Session(ctx.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.to_addr == to).order_by(col(Outbox.id).desc())).first()
        assert row is not None
    raw = Sender.build(ctx.cfg, ctx.engine).render(row, NOW)
    return row, email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def text_of(mail: EmailMessage) -> str:
    part = next(mail.iter_parts()) if mail.is_multipart() else mail
    return part.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]


def tag_of(mail: EmailMessage) -> str:
    m = re.fullmatch(r"book\+([A-Z0-9]{6})@shop\.example", str(mail["Reply-To"]))
    assert m, mail["Reply-To"]
    return m.group(1)


def bookings(ctx: Context) -> list[Booking]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Booking).order_by(col(Booking.id))))


def test_a_request_gets_a_numbered_list_and_a_number_in_reply_books_that_time(salon: Context) -> None:
    mail_in(salon, "１２／３　午後　整体でお願いします\r\n\r\n-- \r\ndocomo携帯から送信")
    row, listed = answer(salon)
    assert row.template == "book_list" and row.capped  # anyone can write Hanako's From: a limited reply
    assert listed.get_content_charset() == "iso-2022-jp"  # a carrier address
    body = text_of(listed)
    lines = re.findall(r"^(\d)\. (.+)$", body, re.M)
    assert lines[:3] == [("1", "12/3(木) 12:00"), ("2", "12/3(木) 12:30"), ("3", "12/3(木) 13:00")]
    assert len(lines) == 9 and "整体の空き時間" in body and "番号(1〜9)" in body
    key = tag_of(listed)

    # A feature phone sends no In-Reply-To: the list's own address ties the reply.
    reply = mail_in(
        salon, "３", to=f"book+{key.lower()}@shop.example", subject="Re: " + str(listed["Subject"])
    )
    [booked] = bookings(salon)
    assert (booked.start, booked.source, booked.status) == (
        NOW.replace(day=3, month=12, hour=13),
        "mail",
        "confirmed",
    )
    assert booked.customer_id is not None and reply.decision is not None
    assert reply.decision["outcome"]["tag"] == "created"

    row, confirmed = answer(salon)
    assert not row.capped  # the reply was tied to its list: the shop owes the confirmation
    assert row.template == "booking_confirmed" and row.in_reply_to == f"m{_sent}@phone.example"
    text, ics = confirmed.iter_parts()
    assert "2026年12月03日(木) 13:00〜14:00" in text.get_content()
    assert ics.get_content_type() == "text/calendar" and ics.get_content_charset() == "utf-8"
    event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == NOW.replace(day=3, month=12, hour=13)
    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    [signed] = re.findall(r"/x/(\S+)", text.get_content())
    with Session(salon.engine) as s:
        _, booking = booking_links.open_link(s, salon.signer, "cancel", signed, NOW)
    assert booking.id == booked.id
    assert tag_of(confirmed) != key  # the confirmation has an address of its own

    # Staff hear of it at once, to block the time in the vendors' systems (grouped per interval).
    row, alert = answer(salon, "staff@shop.example")
    assert (
        row.template == "staff_alerts" and "12月03日(木) 13:00" in text_of(alert) and "mail" in text_of(alert)
    )


def test_in_reply_to_ties_a_reply_sent_to_the_plain_booking_address(salon: Context) -> None:
    mail_in(salon, "", subject="予約")
    row, listed = answer(salon)
    assert "メニューのご指定がなかったため、「整体」でご案内しています" in text_of(listed)
    assert re.search(r"^1\. 11/26\(木\) 10:00$", text_of(listed), re.M)  # 整体 closes the day before at 18:00
    mail_in(salon, "1番でお願いします", in_reply_to=row.header_message_id)
    [booked] = bookings(salon)
    assert booked.start == datetime(2026, 11, 26, 10, 0, tzinfo=NOW.tzinfo)


def test_a_time_taken_meanwhile_gets_a_fresh_list_without_it(salon: Context) -> None:
    for who in (HANAKO, JIRO):
        mail_in(salon, "12/3 佐藤さん 午後", sender=who)
    keys = {who: tag_of(answer(salon, who)[1]) for who in (HANAKO, JIRO)}
    assert "整体(佐藤)の空き時間" in text_of(answer(salon, JIRO)[1])
    mail_in(salon, "1", sender=HANAKO, to=f"book+{keys[HANAKO]}@shop.example")
    taken = mail_in(salon, "1", sender=JIRO, to=f"book+{keys[JIRO]}@shop.example")
    assert [(b.staff, b.start) for b in bookings(salon)] == [("佐藤", datetime(2026, 12, 3, 12, tzinfo=JST))]
    assert taken.decision is not None and taken.decision["outcome"]["tag"] == "taken"
    row, fresh = answer(salon, JIRO)
    body = text_of(fresh)
    assert row.template == "book_list" and "ちょうど埋まりました" in body
    # 佐藤 is busy 12:00-13:00 and 10 minutes after: the next start on the 30-minute grid is 13:30.
    assert re.search(r"^1\. 12/3\(木\) 13:30$", body, re.M) and "12:00" not in body
    assert tag_of(fresh) != keys[JIRO]


def test_a_reply_is_never_tied_by_its_from_alone(salon: Context) -> None:
    mail_in(salon, "12/3 午後")
    row, listed = answer(salon)
    key = tag_of(listed)
    # Jiro writes to Hanako's list address and answers its Message-ID: neither is his.
    mail_in(salon, "1", sender=JIRO, to=f"book+{key}@shop.example", in_reply_to=row.header_message_id)
    assert bookings(salon) == []
    assert "どのご案内へのお返事か分かりませんでした" in text_of(answer(salon, JIRO)[1])
    # Hanako's own reply with no tie at all (a new mail, not a reply): no booking either.
    mail_in(salon, "1")
    assert bookings(salon) == [] and "どのご案内へのお返事か" in text_of(answer(salon)[1])
    mail_in(salon, "1", to=f"book+{key}@shop.example")
    assert [b.customer_id for b in bookings(salon)] == [customer(salon, HANAKO)]


def test_a_number_not_on_the_list_a_used_list_and_an_expired_one_each_get_a_fresh_list(
    salon: Context,
) -> None:
    mail_in(salon, "12/24 佐藤 19時以降")  # 整体 is booked 30 days ahead; the shop closes at 20:00
    key = tag_of(answer(salon)[1])
    times = re.findall(r"^\d\. .+$", text_of(answer(salon)[1]), re.M)
    assert times == ["1. 12/24(木) 19:00", "2. 12/25(金) 19:00"]
    mail_in(salon, "5", to=f"book+{key}@shop.example")
    assert bookings(salon) == [] and "5番はご案内にありません" in text_of(answer(salon)[1])
    mail_in(salon, "1", to=f"book+{key}@shop.example")
    mail_in(salon, "1", to=f"book+{key}@shop.example")
    assert len(bookings(salon)) == 1
    assert "すでにご予約をいただいています" in text_of(answer(salon)[1])

    mail_in(salon, "12/4")
    old = tag_of(answer(salon)[1])
    mail_in(salon, "2", to=f"book+{old}@shop.example", now=NOW + timedelta(hours=25))
    assert len(bookings(salon)) == 1 and "有効期限が切れていました" in text_of(answer(salon)[1])


def test_a_limit_reached_is_explained_without_a_list(tmp_path: Path, db_url: str) -> None:
    path = write_config(tmp_path / "shop", AUTHN + "\n[booking]\nmax_open = 1\n", db_url=db_url, shop=SHOP)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(email=HANAKO, email_key=HANAKO, status="active", name="山田花子"))
    for _ in range(2):
        mail_in(ctx, "12/3")
        mail_in(ctx, "1", to=f"book+{tag_of(answer(ctx)[1])}@shop.example")
    assert len(bookings(ctx)) == 1
    row, said = answer(ctx)
    assert row.template == "book_list" and "上限に達している" in text_of(said)
    assert not re.search(r"^1\. ", text_of(said), re.M)


def test_an_unregistered_sender_gets_the_registration_link_first(salon: Context) -> None:
    message = mail_in(salon, "12/3 午後 整体", sender="new@example.jp")
    row, _ = answer(salon, "new@example.jp")
    assert row.template == "register_link" and row.capped  # the blank mail's limits apply
    assert message.reason == "registration link sent" and bookings(salon) == []
    with Session(salon.engine) as s:
        assert s.exec(select(ReplyKey)).all() == []


def test_an_unclear_request_is_explained_and_still_gets_the_earliest_times(salon: Context) -> None:
    mail_in(salon, "駐車場はありますか", subject="質問")
    body = text_of(answer(salon)[1])
    assert "「質問 駐車場はありますか」は読み取れませんでした" in body  # the subject is read too
    assert re.search(r"^1\. 11/26\(木\) 10:00$", body, re.M)
    mail_in(salon, "2/30 午前")
    body = text_of(answer(salon)[1])
    assert "「2/30」は日付として読めませんでした" in body and re.search(r"^9\. ", body, re.M)


def test_kyanseru_in_reply_to_a_confirmation_mails_its_one_tap_cancel_link(salon: Context) -> None:
    for day in ("12/3", "12/4"):
        mail_in(salon, f"{day} 午後")
        mail_in(salon, "1", to=f"book+{tag_of(answer(salon)[1])}@shop.example")
    _, second = bookings(salon)
    row, _ = answer(salon)  # the confirmation of the booking on 12/4
    assert row.template == "booking_confirmed" and "「キャンセル」とだけ書いて返信" in row.body
    message = mail_in(salon, "キャンセルでお願いします", in_reply_to=row.header_message_id)
    row, said = answer(salon)
    body = text_of(said)
    assert row.template == "book_cancel" and message.decision is not None
    assert said["Reply-To"] == "book@shop.example"
    assert message.decision["intent"]["action"] == "cancel_request"
    assert "12月04日" in body and "12月03日" not in body
    [signed] = re.findall(r"/x/(\S+)", body)
    with Session(salon.engine) as s:
        _, booking = booking_links.open_link(s, salon.signer, "cancel", signed, NOW)
    assert booking.id == second.id and booking.status == "confirmed"  # the link's page cancels

    # キャンセル that answers no mail: every upcoming booking with its own link.
    mail_in(salon, "ｷｬﾝｾﾙ")
    body = text_of(answer(salon)[1])
    assert "12月03日" in body and "12月04日" in body and len(re.findall(r"/x/\S+", body)) == 2


def customer(ctx: Context, addr: str) -> int:
    with Session(ctx.engine) as s:
        found = s.exec(select(Customer).where(Customer.email_key == addr)).one()
        assert found.id is not None
        return found.id


def test_requests_in_a_flood_are_held_but_a_tied_reply_is_still_answered(salon: Context) -> None:
    # Anyone can write a registered customer's From: answers to untied mail count against the
    # hourly reply limit per mailbox ([mail] replies_per_hour, 5), like a blank mail's.
    for _ in range(5):
        mail_in(salon, "12/3 午後")
    key = tag_of(answer(salon)[1])
    held = mail_in(salon, "12/3 午後", state="held")
    assert held.reason is not None and held.reason.startswith("reply suppressed")
    untied = mail_in(salon, "キャンセル", state="held")
    assert untied.reason is not None and untied.reason.startswith("reply suppressed")
    mail_in(salon, "1", to=f"book+{key}@shop.example")
    assert len(bookings(salon)) == 1 and answer(salon)[0].template == "booking_confirmed"


ASKING = SHOP.replace(
    "ahead_days = 30\n",
    "ahead_days = 30\n"
    'questions = [{ text = "ご来店は初めてですか", kind = "choice", options = ["はい", "いいえ"],'
    " required = true }, "
    '{ text = "気になるところ", kind = "checkbox", options = ["肩", "腰", "首"] }]\n',
    1,
)


def test_the_list_asks_the_menus_questions_and_the_reply_answers_them_line_by_line(
    tmp_path: Path, db_url: str
) -> None:
    ctx = Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=ASKING)))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(email=HANAKO, email_key=HANAKO, status="active", name="山田花子"))
    mail_in(ctx, "12/3 午後 整体")
    _, listed = answer(ctx)
    body = text_of(listed)
    assert "Q1. ご来店は初めてですか(はい/いいえ から1つ・必須)" in body
    assert "Q2. 気になるところ(肩/腰/首 からいくつでも)" in body
    to = f"book+{tag_of(listed).lower()}@shop.example"
    mail_in(ctx, "3", to=to)  # the required answer left out: nothing booked, the list again
    assert bookings(ctx) == []
    _, again = answer(ctx)
    assert "ご質問へのお答えが足りないか" in text_of(again)
    mail_in(ctx, "3\r\n1\r\n腰、3", to=f"book+{tag_of(again).lower()}@shop.example")
    [booked] = bookings(ctx)
    with Session(ctx.engine) as s:
        assert answers.lines(s, booked.id) == ["ご来店は初めてですか: はい", "気になるところ: 腰、首"]
