"""Headers smuggled past DKIM with a bare CR: dkimpy splits header lines on CRLF and LF only, the mail
parser on a lone CR too, so one unsigned line on top reads as several headers to the rules. The rules
must read exactly the headers the signature verified: such a message is never proven."""

from __future__ import annotations

import base64

import pytest

from mailgate import config
from mailgate.authn import find_originals
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests import notices
from tests.authn.helpers import (
    GMAIL_PASTE,
    inline_forward,
    outer,
    rfc822_part,
    signed,
    text_part,
    txt_records,
)
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)

CANCELLED = "=?utf-8?b?" + base64.b64encode("[STORES 予約] 予約がキャンセルされました".encode()).decode()
CANCELLED += "?="
SMUGGLED_SUBJECT = f"X-Note: fyi\rSubject: {CANCELLED}\rMessage-ID: <x@evil.example>\r\n".encode()


def decide(raw: bytes) -> Intent:
    return engine.decide(
        RULES, parse(raw), "notices@shop.example", None, CFG, lambda: find_originals(raw, txt_records())
    )


def test_the_parser_reads_the_smuggled_line_as_three_headers() -> None:
    # What made the attack work: the email package and dkimpy disagree on where a header ends.
    mail = parse(SMUGGLED_SUBJECT + notices.stores_booked("87246923"))
    assert mail.subject == "[STORES 予約] 予約がキャンセルされました"
    assert mail.message_id == "x@evil.example"


def test_a_genuine_booking_re_sent_with_a_smuggled_subject_is_held_not_cancelled() -> None:
    genuine = notices.stores_booked("87246923")
    assert decide(genuine).action == "book"
    intent = decide(SMUGGLED_SUBJECT + genuine)
    assert intent.action == "hold", intent.reason
    assert "CR not followed by LF" in intent.reason


@pytest.mark.parametrize(
    "forwarder",
    [("someone@othermail.example", ("othermail.example", "o1")), ("uketsuke@salon-mail.example", None)],
    ids=["outsider", "trusted-unsigned"],
)
def test_the_smuggled_notice_inside_an_attached_message_is_held(
    forwarder: tuple[str, tuple[str, str] | None],
) -> None:
    address, signer = forwarder
    inner = SMUGGLED_SUBJECT + notices.stores_booked("87246923")
    raw = outer([text_part("転送します"), rfc822_part(inner)], from_=address)
    if signer:
        raw = signed(raw, *signer)
    intent = decide(raw)
    assert intent.action == "hold", intent.reason
    assert intent.action != "cancel"


def test_the_smuggled_notice_attached_by_a_trusted_forwarder_is_held() -> None:
    inner = SMUGGLED_SUBJECT + notices.stores_booked("87246923")
    raw = signed(outer([text_part("転送します"), rfc822_part(inner)]), "salon-mail.example", "m1")
    intent = decide(raw)
    assert intent.action == "hold", intent.reason
    assert "CR not followed by LF" in intent.reason


def test_a_smuggled_from_does_not_make_another_mailbox_a_trusted_forwarder() -> None:
    # Another mailbox of the forwarder's domain: the domain signs its mail, so the signature verifies.
    raw = signed(inline_forward(GMAIL_PASTE, from_="intern@salon-mail.example"), "salon-mail.example", "m1")
    assert decide(raw).action == "hold"  # not a trusted forwarder
    smuggled = b"X-Note: fyi\rFrom: uketsuke@salon-mail.example\r\n" + raw
    assert parse(smuggled).from_addr == "uketsuke@salon-mail.example"
    intent = decide(smuggled)
    assert intent.action == "hold", intent.reason
    assert "CR not followed by LF" in intent.reason


def test_a_bare_cr_inside_a_signed_header_value_is_held_too() -> None:
    genuine = notices.stores_booked("87246923", to="owner@salon-mail.example\rBcc: x@evil.example")
    intent = decide(genuine)
    assert intent.action == "hold", intent.reason


def test_a_bare_cr_in_the_body_is_not_a_header_problem() -> None:
    # Only the header block is read two ways; the body is covered by the body hash as bytes.
    body = (
        "JITANBODY整体院 様\r\n\r\n◆予約番号:\r\n  87246923\r\n\r\n"
        "◆予約日時:\r\n  2026年12月03日 (木) 13:00 ~ 14:00\r\n"
    )
    raw = notices.mail("[STORES 予約] 予約が入りました", body.replace("様\r\n", "様\r"), cte="8bit")
    assert decide(raw).action == "book"
