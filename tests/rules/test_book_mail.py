"""Mail to the booking address as the rules engine reads it: a request, a number in reply, キャンセル,
and what makes no answer at all (no address to answer); hostile mail reads in bounded time."""

from __future__ import annotations

import pytest

from mailgate import config
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)
BOOK = CFG.mail.book


def decide(sender: str, body: str, rcpt: str = BOOK, extra: str = "") -> Intent:
    raw = (
        f"From: {sender}\r\nTo: {rcpt}\r\nSubject: \r\nMessage-ID: <q@phone.example>\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode() + body.encode()
    return engine.decide(RULES, parse(raw), rcpt, sender, CFG)


@pytest.mark.parametrize(
    ("body", "action"),
    [
        ("12/5 午後 整体", "book_request"),
        ("", "book_request"),
        ("３\r\n\r\n> 1. 12/5(土) 10:00\r\n> 2. 12/5(土) 10:30", "book_reply"),
        ("キャンセル", "cancel_request"),
        ("待つ\r\n\r\n> ご希望の時間は、ちょうど埋まりました。", "wait_request"),
        ("キャンセル待ちでお願いします", "wait_request"),
        ("待ちます", "wait_request"),
    ],
)
def test_what_the_customer_wrote_picks_the_intent(body: str, action: str) -> None:
    intent = decide("hanako@docomo.ne.jp", body)
    assert intent.action == action and intent.customer == {"email": "hanako@docomo.ne.jp"}


def test_a_reply_keeps_its_tag_and_the_message_ids_it_answers() -> None:
    intent = decide(
        "hanako@docomo.ne.jp",
        "2番",
        rcpt=BOOK.replace("@", "+k7q2ab@"),
        extra="In-Reply-To: <list-1@shop.example>\r\nReferences: <a@x> <list-1@shop.example>\r\n",
    )
    assert intent.action == "book_reply" and intent.fields["number"] == 2
    assert intent.fields["tag"] == "k7q2ab"
    assert intent.fields["replying_to"] == ["list-1@shop.example", "a@x"]


@pytest.mark.parametrize("sender", ["@", "a@", "@shop", "<>", '"@"@'])
def test_a_sender_that_cannot_be_answered_gets_no_answer(sender: str) -> None:
    intent = decide(sender, "12/5")
    assert intent.action in ("hold", "ignore")


def test_a_megabyte_of_text_is_still_a_request() -> None:
    intent = decide("hanako@docomo.ne.jp", "12/5 午後\r\n" + "あ" * 1_000_000)
    assert intent.action == "book_request" and intent.fields["words"].startswith("12/5 午後")
