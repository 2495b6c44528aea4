from __future__ import annotations

import base64
import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import Message

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.mail.compose import Outgoing, compose, envelope_recipient
from mailgate.mail.jis import jis_loses, jis_safe

JST = timezone(timedelta(hours=9))
NOW = datetime(2026, 12, 1, 9, 30, 5, tzinfo=JST)
CARRIERS = ("docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp")
BODY = "山田 太郎様\n\nご予約①を承りました。\n日時: 12月3日 13:00～14:00\n㈱サロン ｶｯﾄ\n"


def _out(**kw: object) -> Outgoing:
    base: dict[str, object] = {
        "to": "taro..yamada.@docomo.ne.jp",
        "subject": "【予約確定】12月3日 13:00 カット①",
        "body": BODY,
        "from_addr": "yoyaku@shop.example",
        "from_name": "サロン㈱",
    }
    base.update(kw)
    return Outgoing(**base)  # type: ignore[arg-type]


def _compose(**kw: object) -> bytes:
    return compose(_out(**kw), carrier_domains=CARRIERS, now=NOW)


def _parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _header(raw: bytes, name: str) -> str:
    value = _parse(raw)[name]
    assert value is not None, name
    return str(make_header(decode_header(value)))


def _lf_free_crlf(raw: bytes) -> bool:
    return b"\n" not in raw.replace(b"\r\n", b"")


def test_carrier_recipient_gets_iso2022jp_7bit_body_that_decodes_to_the_jis_safe_text() -> None:
    raw = _compose()
    msg = _parse(raw)
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "iso-2022-jp"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    decoded = payload.decode("iso2022_jp")
    assert decoded == jis_safe(BODY).replace("\n", "\r\n")
    assert "ご予約(1)を承りました" in decoded and "(株)サロン カット" in decoded


@pytest.mark.parametrize(
    "name",
    ["髙橋", "山﨑", "𠮷田", "José", "はなこ🌸"],  # not in JIS X 0208: only 〓 or a lost accent there
)
def test_a_name_iso2022jp_would_garble_sends_that_mail_in_utf8_exactly(name: str) -> None:
    body = f"{name}様\n\nご予約①を承りました。\n"
    raw = _compose(body=body, subject=f"{name}様 ご予約確認")
    msg = _parse(raw)
    assert msg.get_content_charset() == "utf-8"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode("utf-8") == body.replace("\n", "\r\n")  # ① too: nothing replaced
    assert _header(raw, "Subject") == f"{name}様 ご予約確認"
    assert all(b < 0x80 for b in raw)


def test_a_shop_that_allows_standard_kanji_sends_iso2022jp_with_takahashi_written_as_usual() -> None:
    body = "髙橋 﨑子様\n\nご予約を承りました。\n"
    out = _out(body=body, subject="髙橋様")
    raw = compose(out, carrier_domains=CARRIERS, now=NOW, kanji_substitutes=True)
    msg = _parse(raw)
    assert msg.get_content_charset() == "iso-2022-jp"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode("iso2022_jp") == "高橋 崎子様\r\n\r\nご予約を承りました。\r\n"
    assert _header(raw, "Subject") == "高橋様"


def test_with_standard_kanji_allowed_a_character_with_no_standard_form_still_sends_utf8() -> None:
    raw = compose(_out(body="髙橋🌸様\n"), carrier_domains=CARRIERS, now=NOW, kanji_substitutes=True)
    payload = _parse(raw).get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode("utf-8") == "髙橋🌸様\r\n"  # as written: no substitute needed in UTF-8


def test_other_recipient_gets_utf8_body_that_decodes_back_exactly() -> None:
    raw = _compose(to="taro@example.com")
    msg = _parse(raw)
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "base64"
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.decode("utf-8") == BODY.replace("\n", "\r\n")  # ① and ｶｯﾄ untouched


def test_stdlib_default_policy_reads_body_and_headers() -> None:
    msg = email.message_from_bytes(_compose(), policy=email.policy.default)
    assert msg.get_content().replace("\r\n", "\n") == jis_safe(BODY)  # type: ignore[attr-defined]
    assert str(msg["Subject"]) == "【予約確定】12月3日 13:00 カット(1)"
    assert msg["From"].addresses[0].display_name == "サロン(株)"  # type: ignore[attr-defined]


def test_message_is_7bit_with_crlf_line_endings_only() -> None:
    for to in ("a@docomo.ne.jp", "a@example.com"):
        raw = _compose(to=to)
        assert all(b < 0x80 for b in raw)
        assert _lf_free_crlf(raw)
        assert raw.endswith(b"\r\n")


def test_non_dot_atom_local_part_is_quoted_in_to_header() -> None:
    raw = _compose()
    assert b'\r\nTo: "taro..yamada."@docomo.ne.jp\r\n' in raw
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not msg["To"].defects


def test_dot_atom_local_part_is_not_quoted() -> None:
    assert b"\r\nTo: taro.yamada@docomo.ne.jp\r\n" in _compose(to="taro.yamada@docomo.ne.jp")


def test_already_quoted_local_part_is_not_quoted_twice() -> None:
    assert b'\r\nTo: "taro..yamada."@docomo.ne.jp\r\n' in _compose(to='"taro..yamada."@docomo.ne.jp')


@pytest.mark.parametrize(
    ("stored", "rcpt"),
    [
        ("taro..yamada.@docomo.ne.jp", '"taro..yamada."@docomo.ne.jp'),
        (".taro@ezweb.ne.jp", '".taro"@ezweb.ne.jp'),
        ("taro.yamada@docomo.ne.jp", "taro.yamada@docomo.ne.jp"),
        ('a"b\\c@x.example', '"a\\"b\\\\c"@x.example'),
        ("<a..b@x.example>", '"a..b"@x.example'),
    ],
)
def test_envelope_recipient_quotes_only_non_dot_atom_local_parts(stored: str, rcpt: str) -> None:
    assert envelope_recipient(stored) == rcpt


@pytest.mark.parametrize("bad", ["a\r\nRCPT TO:<x@y>@x.example", "no-at-sign", "@x.example", "a@"])
def test_envelope_recipient_rejects_what_is_not_an_address(bad: str) -> None:
    with pytest.raises(ValueError):
        envelope_recipient(bad)


def test_subject_is_b_encoded_in_iso2022jp_for_carrier_recipients() -> None:
    raw = _compose()
    subject_line = re.search(rb"\r\nSubject: (.*?)\r\n(?! )", raw, re.S)
    assert subject_line is not None
    words = re.findall(rb"=\?([^?]+)\?B\?([^?]*)\?=", subject_line.group(1))
    assert words and {w[0] for w in words} == {b"ISO-2022-JP"}
    # RFC 1468: every encoded-word must end back in ASCII.
    for _, b64 in words:
        data = base64.b64decode(b64)
        assert data.rfind(b"\x1b$B") < data.rfind(b"\x1b(B") or b"\x1b" not in data
    assert _header(raw, "Subject") == "【予約確定】12月3日 13:00 カット(1)"


def test_subject_is_b_encoded_in_utf8_for_other_recipients() -> None:
    raw = _compose(to="taro@example.com")
    assert b"=?UTF-8?B?" in raw
    assert _header(raw, "Subject") == "【予約確定】12月3日 13:00 カット①"


def test_short_ascii_subject_is_left_readable() -> None:
    assert b"\r\nSubject: Booking confirmed\r\n" in _compose(subject="Booking confirmed")


def test_from_display_name_is_encoded_in_the_body_charset() -> None:
    jis_raw = _compose()
    utf_raw = _compose(to="taro@example.com")
    assert re.search(rb"^From: =\?ISO-2022-JP\?B\?", jis_raw)
    assert re.search(rb"^From: =\?UTF-8\?B\?", utf_raw)
    assert _header(jis_raw, "From") == "サロン(株) <yoyaku@shop.example>"
    assert _header(utf_raw, "From") == "サロン㈱ <yoyaku@shop.example>"


def test_from_without_name_is_the_bare_address() -> None:
    assert _compose(from_name="").startswith(b"From: yoyaku@shop.example\r\n")


def test_ascii_display_name_with_specials_is_quoted() -> None:
    raw = _compose(from_name="Salon, Tokyo")
    assert raw.startswith(b'From: "Salon, Tokyo" <yoyaku@shop.example>\r\n')


def test_date_header_comes_from_now() -> None:
    assert b"\r\nDate: Tue, 01 Dec 2026 09:30:05 +0900\r\n" in _compose()


def test_message_id_is_generated_at_the_sender_domain_when_missing() -> None:
    a, b = _compose(), _compose()
    ids = [re.search(rb"\r\nMessage-ID: <([^>]+)>\r\n", raw) for raw in (a, b)]
    assert ids[0] and ids[1]
    assert ids[0].group(1).endswith(b"@shop.example")
    assert ids[0].group(1) != ids[1].group(1)


def test_given_message_id_is_used_with_brackets() -> None:
    assert b"\r\nMessage-ID: <r-1@shop.example>\r\n" in _compose(message_id="r-1@shop.example")


def test_threading_headers_are_written_only_when_given() -> None:
    plain = _compose()
    assert b"In-Reply-To:" not in plain and b"References:" not in plain
    raw = _compose(in_reply_to="orig@mail.example", references=("root@mail.example", "<orig@mail.example>"))
    msg = _parse(raw)
    assert msg["In-Reply-To"] == "<orig@mail.example>"
    assert msg["References"].split() == ["<root@mail.example>", "<orig@mail.example>"]


def test_auto_reply_headers_are_set_and_precedence_is_not() -> None:
    msg = _parse(_compose())
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Precedence"] is None


def test_line_break_in_subject_cannot_inject_a_header() -> None:
    raw = _compose(subject="hello\r\nBcc: victim@example.com", to="a@example.com")
    msg = _parse(raw)
    assert msg["Bcc"] is None
    assert "Bcc" in _header(raw, "Subject")


def test_address_with_line_break_is_rejected() -> None:
    with pytest.raises(ValueError):
        _compose(to="a@example.com\r\nBcc: victim@example.com")


@pytest.mark.parametrize("to", ["a@docomo.ne.jp", "a@example.com"])
def test_long_lines_are_kept_within_998_octets(to: str) -> None:
    long_line = "予約" * 2000 + "x" * 3000
    raw = _compose(to=to, body=long_line + "\n", subject="件名" * 200, from_name="名" * 200)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    payload = _parse(raw).get_payload(decode=True)
    assert isinstance(payload, bytes)
    decoded = payload.decode("iso2022_jp" if "docomo" in to else "utf-8")
    # The only change allowed is the inserted line breaks.
    assert decoded.replace("\r\n", "") == long_line
    assert _header(raw, "Subject") == "件名" * 200


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=60),
    body=st.text(max_size=300),
    carrier=st.booleans(),
)
def test_any_text_reparses_and_body_decodes_back(subject: str, body: str, carrier: bool) -> None:
    to = "taro..yamada.@docomo.ne.jp" if carrier else "taro@example.com"
    raw = _compose(to=to, subject=subject, body=body)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    msg = _parse(raw)
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    jis = msg.get_content_charset() == "iso-2022-jp"
    # Carrier mail is ISO-2022-JP unless that would lose a character of the subject or body.
    assert jis == (carrier and not jis_loses(subject) and not jis_loses(body))
    text = payload.decode("iso2022_jp" if jis else "utf-8").replace("\r\n", "\n")
    expected = body.replace("\r\n", "\n").replace("\r", "\n")
    # UTF-8 bodies write lone surrogates as "?"; JIS bodies go through jis_safe.
    expected = jis_safe(expected) if jis else expected.encode("utf-8", "replace").decode("utf-8")
    if expected.endswith("\n"):
        expected = expected[:-1]
    assert text == expected + "\n"


def test_a_booking_mail_carries_its_calendar_beside_the_jis_text_and_a_reply_address() -> None:
    from email import message_from_bytes
    from email.policy import default

    out = Outgoing(
        to="taro@docomo.ne.jp",
        subject="ご予約の確認",
        body="12月3日 13:00 のご予約を承りました。",
        from_addr="book@shop.example",
        reply_to="book+K7Q2@shop.example",
        calendar="BEGIN:VCALENDAR\r\nSUMMARY:整体\r\nEND:VCALENDAR\r\n",
    )
    raw = compose(out, carrier_domains=["docomo.ne.jp"], now=datetime(2026, 11, 23, 10, 0, tzinfo=JST))
    msg = message_from_bytes(raw, policy=default)
    assert msg["Reply-To"] == "book+K7Q2@shop.example"
    text, calendar = msg.iter_parts()
    assert text.get_content_charset() == "iso-2022-jp" and "13:00" in text.get_content()
    assert calendar.get_content_type() == "text/calendar" and calendar.get_content_charset() == "utf-8"
    assert "SUMMARY:整体" in calendar.get_content() and calendar.get_filename() == "booking.ics"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
