"""Delivery reports read down to one failure: RFC 3464 reports and the plain-text ones Japanese
carriers send (tests/mail/bounces/: docomo's sendmail transcript, au's "Mail System Error", SoftBank's
Japanese notice in ISO-2022-JP), hard or soft by the code and the words; garbage is no report, and a
megabyte of report is read in linear time."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.mail.dsn import Report, read_report
from mailgate.mail.parse import parse
from tests.hang_guard import finishes

SAMPLES = Path(__file__).parent / "bounces"


def report(name: str) -> Report | None:
    return read_report(parse((SAMPLES / name).read_bytes()))


@pytest.mark.parametrize(
    ("name", "kind", "status", "recipient", "form"),
    [
        ("rfc3464-user-unknown.eml", "hard", "5.1.1", "gone@example.jp", "rfc3464"),
        ("rfc3464-mailbox-full.eml", "soft", "5.2.2", "full@example.jp", "rfc3464"),
        ("rfc3464-delayed.eml", "delay", "4.4.1", "slow@example.jp", "rfc3464"),
        ("docomo-unknown-user.eml", "hard", "5.1.1", "taro..yamada.@docomo.ne.jp", "docomo"),
        ("au-ezweb-disabled.eml", "hard", "550", "hanako-0123@ezweb.ne.jp", "au"),
        ("au-expired.eml", "soft", "", "jiro.suzuki@au.com", "au"),
        ("softbank-unknown.eml", "hard", "5.1.1", "sakura.0401@i.softbank.jp", "softbank"),
    ],
)
def test_a_report_is_read_down_to_its_failure(
    name: str, kind: str, status: str, recipient: str, form: str
) -> None:
    found = report(name)
    assert found is not None
    assert (found.kind, found.status, found.recipient, found.form) == (kind, status, recipient, form)


def test_the_diagnostic_is_the_remote_servers_words() -> None:
    found = report("softbank-unknown.eml")
    assert found is not None and "宛先不明" in found.diagnostic
    unknown = report("rfc3464-user-unknown.eml")
    assert unknown is not None and unknown.diagnostic.startswith("550 5.1.1 <gone@example.jp>: Recipient")


def test_the_corpus_bounce_reads_as_a_hard_bounce() -> None:
    corpus = Path(__file__).parents[1] / "corpus" / "noise" / "bounce-dsn.eml"
    found = read_report(parse(corpus.read_bytes()))
    assert found is not None and (found.kind, found.status) == ("hard", "5.1.1")


def test_a_policy_refusal_counts_as_soft_it_may_be_about_the_sender() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.jp\r\nSubject: Undelivered\r\n"
        b"Content-Type: text/plain\r\n\r\n<a@example.jp>: 550 5.7.1 Message rejected as spam\r\n"
    )
    found = read_report(parse(raw))
    assert found is not None and (found.kind, found.status) == ("soft", "5.7.1")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff garbage \xfe",
        b"From: someone@example.jp\r\nSubject: hello\r\n\r\nSee you at 10.\r\n",
        b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--\r\n",
    ],
    ids=["empty", "binary", "a plain mail", "a report naming nobody"],
)
def test_garbage_is_no_report(raw: bytes) -> None:
    assert read_report(parse(raw)) is None


def _megabyte_report(filler: str) -> bytes:
    head = (
        "From: MAILER-DAEMON@mx.example.jp\r\nContent-Type: multipart/report; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\n"
        + filler
        + "\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\nFinal-Recipient: rfc822; a@example.jp\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 " + filler + "\r\n\r\n--b--\r\n"
    )
    return head.encode()


MB = 1_000_000


@pytest.mark.parametrize(
    "filler",
    ["5." * (MB // 2), "1" * MB, "@" * MB, "<" * MB, "user unknown " * (MB // 13), "a@b. " * (MB // 5)],
    ids=["dotted digits", "digits", "at signs", "brackets", "phrases", "addresses"],
)
def test_a_megabyte_report_is_read_in_linear_time(filler: str) -> None:
    raw = _megabyte_report(filler)
    assert finishes(lambda: read_report(parse(raw)))
    found = read_report(parse(raw))
    assert found is not None and found.status == "5.1.1" and len(found.diagnostic) <= 300


def test_a_megabyte_of_plain_text_is_read_in_linear_time() -> None:
    raw = b"From: postmaster@ezweb.ne.jp\r\n\r\n" + b"5.1." * (MB // 4) + b"\r\n550 user unknown\r\n"
    assert finishes(lambda: read_report(parse(raw)))
