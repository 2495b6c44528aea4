"""Decoding of headers: RFC 2047 words in Japanese charsets, raw 8-bit bytes, no line breaks let through."""

from __future__ import annotations

import email
import email.policy
from email.header import Header

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailgate.mail.headers import decode_header_value, raw_header_text


def test_header_iso2022jp_b_words_join_without_spaces() -> None:
    # 予約 / ①髙 split over two encoded words on folded lines.
    value = "=?ISO-2022-JP?B?GyRCTT1McxsoQg==?=\r\n =?ISO-2022-JP?B?GyRCLSF8YhsoQg==?="
    assert decode_header_value(value) == "予約①髙"


def test_header_utf8_split_mid_character_is_rejoined() -> None:
    data = "予約".encode()
    import base64

    first = base64.b64encode(data[:4]).decode()
    second = base64.b64encode(data[4:]).decode()
    assert decode_header_value(f"=?UTF-8?B?{first}?= =?UTF-8?B?{second}?=") == "予約"


def test_header_shift_jis_b_word() -> None:
    import base64

    word = base64.b64encode("予約①".encode("cp932")).decode()
    assert decode_header_value(f"=?Shift_JIS?B?{word}?=") == "予約①"


def test_header_q_encoding_with_underscores_and_lowercase_marker() -> None:
    assert decode_header_value("=?utf-8?q?=E4=BA=88=E7=B4=84_OK?=") == "予約 OK"


def test_header_plain_text_around_encoded_word_keeps_its_spaces() -> None:
    value = "Fwd: [STORES =?utf-8?b?5LqI57SEXSDkuojntITjgYzlhaXjgorjgb7jgZfjgZ8=?="
    assert decode_header_value(value) == "Fwd: [STORES 予約] 予約が入りました"


def test_header_adjacent_words_of_different_charsets() -> None:
    value = "=?ISO-2022-JP?B?GyRCTT1McxsoQg==?= =?UTF-8?B?4pGg?="
    assert decode_header_value(value) == "予約①"


def test_header_language_suffix_is_ignored() -> None:
    assert decode_header_value("=?ISO-2022-JP*ja?B?GyRCTT1McxsoQg==?=") == "予約"


def test_header_bad_base64_does_not_raise() -> None:
    assert isinstance(decode_header_value("=?UTF-8?B?###?= x"), str)


def test_header_none_is_empty() -> None:
    assert decode_header_value(None) == ""


def test_header_object_is_decoded() -> None:
    assert decode_header_value(Header("予約", "utf-8")) == "予約"


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "euc_jp"])
def test_raw_8bit_subject_from_email_package_is_recovered(encoding: str) -> None:
    raw = b"Subject: " + "予約の変更".encode(encoding) + b"\r\n\r\nbody\r\n"
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert decode_header_value(msg["Subject"]) == "予約の変更"


def test_raw_header_text_leaves_encoded_words_but_unfolds() -> None:
    assert raw_header_text("=?UTF-8?B?4pGg?=\r\n <a@b.jp>") == "=?UTF-8?B?4pGg?= <a@b.jp>"


def test_header_line_breaks_inside_encoded_words_become_spaces() -> None:
    # base64 of "a\r\nBcc: x@y": must not turn into a second header when copied.
    assert decode_header_value("=?UTF-8?B?YQ0KQmNjOiB4QHk=?=") == "a  Bcc: x@y"


@given(st.text(max_size=100))
def test_decode_header_value_never_raises_or_breaks_lines(value: str) -> None:
    decoded = decode_header_value(value)
    assert "\r" not in decoded and "\n" not in decoded
