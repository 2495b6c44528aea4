"""Pasted forwards as mail clients write them, and the dates they print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailgate.authn import find_forwards, forward_mail, loose_date
from mailgate.authn.inline import TOKYO

JST = timezone(timedelta(hours=9))
BODY = "JITANBODY整体院 様\n\n◆予約番号:\n  87246923\n"

CLIENTS = {
    "gmail": (
        "転送します。\n\n---------- Forwarded message ---------\n"
        "From: STORES 予約 <noreply@coubic.com>\nDate: 2026年11月26日(木) 21:14\n"
        "Subject: [STORES 予約] 予約が入りました\nTo: <owner@salon-mail.example>\n\n" + BODY
    ),
    "gmail-english": (
        "---------- Forwarded message ---------\n"
        "From: STORES 予約 <noreply@coubic.com>\nDate: Thu, Nov 26, 2026 at 9:14 PM\n"
        "Subject: [STORES 予約] 予約が入りました\nTo: <owner@salon-mail.example>\n\n" + BODY
    ),
    "outlook": (
        "FYI\n\n-----Original Message-----\n"
        "From: STORES 予約 <noreply@coubic.com<mailto:noreply@coubic.com>>\n"
        "Sent: Thursday, November 26, 2026 9:14 PM\nTo: owner@salon-mail.example\n"
        "Subject: [STORES 予約] 予約が入りました\n\n" + BODY
    ),
    "outlook-ja": (
        "________________________________\n"
        "差出人: STORES 予約 <noreply@coubic.com>\n送信日時: 2026年11月26日 21:14\n"
        "宛先: owner@salon-mail.example\n件名: [STORES 予約] 予約が入りました\n\n" + BODY
    ),
    "thunderbird": (
        "\n-------- Forwarded Message --------\n"
        "Subject: \t[STORES 予約] 予約が入りました\nDate: \tThu, 26 Nov 2026 21:14:03 +0900\n"
        "From: \tSTORES 予約 <noreply@coubic.com>\nTo: \towner@salon-mail.example\n\n" + BODY
    ),
    "thunderbird-ja": (
        "-------- 転送メッセージ --------\n"
        "件名: \t[STORES 予約] 予約が入りました\n日付: \tThu, 26 Nov 2026 21:14:03 +0900\n"
        "差出人: \tSTORES 予約 <noreply@coubic.com>\n宛先: \towner@salon-mail.example\n\n" + BODY
    ),
    "apple": (
        "転送\n\nBegin forwarded message:\n\n"
        "From: STORES 予約 <noreply@coubic.com>\nSubject: [STORES 予約] 予約が入りました\n"
        "Date: November 26, 2026 at 21:14:00 GMT+9\nTo: owner@salon-mail.example\n\n" + BODY
    ),
    "carrier": (
        "--- 転送メッセージ ---\n"
        "送信者：STORES 予約 <noreply@coubic.com>\n送信日時：２０２６/１１/２６ 午後９:１４\n"
        "件名：[STORES 予約] 予約が入りました\n宛先：owner@salon-mail.example\n\n" + BODY
    ),
    "quoted": (
        "> -------- Original Message --------\n"
        "> From: STORES 予約 <noreply@coubic.com>\n> Date: 2026/11/26 21:14\n"
        "> Subject: [STORES 予約] 予約が入りました\n> To: owner@salon-mail.example\n>\n"
        + "".join(f"> {line}\n" if line else ">\n" for line in BODY.rstrip("\n").split("\n"))
    ),
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_pasted_forward_reads_like_the_original(client: str, newline: str) -> None:
    [forward] = find_forwards(CLIENTS[client].replace("\n", newline))
    mail = forward_mail(forward)
    assert mail.from_addr == "noreply@coubic.com"
    assert mail.from_name == "STORES 予約"
    assert mail.subject == "[STORES 予約] 予約が入りました"
    assert mail.to_addrs == ("owner@salon-mail.example",)
    assert mail.date is not None
    assert mail.date.replace(second=0) == datetime(2026, 11, 26, 21, 14, tzinfo=JST)
    assert mail.date.utcoffset() == timedelta(hours=9)
    assert mail.text == BODY


def test_no_marker_no_forward() -> None:
    text = "From: STORES 予約 <noreply@coubic.com>\nSubject: x\n\nbody\n"
    assert find_forwards(text) == []


def test_marker_without_a_from_header_is_not_a_forward() -> None:
    assert find_forwards("---------- Forwarded message ---------\nSubject: x\n\nbody\n") == []
    assert find_forwards("-----Original Message-----\nI think the meeting is at 3.\n") == []


def test_forward_of_a_forward_gives_both_outermost_first() -> None:
    text = (
        "---------- Forwarded message ---------\nFrom: 店長 <tencho@salon-mail.example>\n"
        "Date: 2026年11月26日(木) 21:20\nSubject: Fwd: 予約\n\n見てください\n\n" + CLIENTS["gmail"]
    )
    found = [forward_mail(f) for f in find_forwards(text)]
    assert [m.from_addr for m in found] == ["tencho@salon-mail.example", "noreply@coubic.com"]
    assert "87246923" in found[0].text and found[1].text == BODY


def test_wrapped_to_line_is_joined() -> None:
    text = (
        "---------- Forwarded message ---------\nFrom: a@coubic.com\n"
        "To: one@salon-mail.example,\n two@salon-mail.example\nSubject: s\n\nbody\n"
    )
    mail = forward_mail(find_forwards(text)[0])
    assert mail.to_addrs == ("one@salon-mail.example", "two@salon-mail.example")
    assert mail.date is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月26日(木) 21:14", datetime(2026, 11, 26, 21, 14, tzinfo=JST)),
        ("2026年11月26日（木曜日） 21時14分", datetime(2026, 11, 26, 21, 14, tzinfo=JST)),
        ("2026/11/26 午後9:14", datetime(2026, 11, 26, 21, 14, tzinfo=JST)),
        ("2026/11/26 午前0:05:09", datetime(2026, 11, 26, 0, 5, 9, tzinfo=JST)),
        ("2026-11-26 21:14", datetime(2026, 11, 26, 21, 14, tzinfo=JST)),
        ("Thu, 26 Nov 2026 21:14:03 +0900", datetime(2026, 11, 26, 21, 14, 3, tzinfo=JST)),
        ("Thu, 26 Nov 2026 21:14:03 JST", datetime(2026, 11, 26, 21, 14, 3, tzinfo=JST)),
        ("Thu, 26 Nov 2026 12:14:03 +0000", datetime(2026, 11, 26, 12, 14, 3, tzinfo=UTC)),
        ("Thu, Nov 26, 2026 at 9:14 PM", datetime(2026, 11, 26, 21, 14, tzinfo=JST)),
        ("Thursday, November 26, 2026 12:05 AM", datetime(2026, 11, 26, 0, 5, tzinfo=JST)),
        ("November 26, 2026 at 21:14:00 GMT+9", datetime(2026, 11, 26, 21, 14, tzinfo=JST)),
        ("26 November 2026 21:14 UTC", datetime(2026, 11, 26, 21, 14, tzinfo=UTC)),
        ("2026年11月26日 21:14 (UTC)", datetime(2026, 11, 26, 21, 14, tzinfo=UTC)),
        ("2026年11月26日", datetime(2026, 11, 26, 0, 0, tzinfo=JST)),
    ],
)
def test_loose_dates(text: str, expected: datetime) -> None:
    got = loose_date(text)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text", ["", "そのうち", "2026年13月40日 25:99", "yesterday at noon", "Foo 99, 2026"]
)
def test_unreadable_dates_are_none(text: str) -> None:
    assert loose_date(text) is None


def test_naive_dates_are_tokyo_time() -> None:
    got = loose_date("2026/07/01 09:00")
    assert got is not None and got.tzinfo is TOKYO
