"""RFC 3834 loop prevention: which inbound mail must never get an automatic answer."""

from __future__ import annotations

import pytest

from mailgate.mail.loops import auto_reply_reason
from mailgate.mail.parse import parse
from tests.conftest import CORPUS


def mail(body: bytes = b"hello\r\n", *extra: str, sender: str = "taro@example.jp") -> bytes:
    head = f"From: {sender}\r\nTo: signup@shop.example\r\nMessage-ID: <m@example.jp>\r\n"
    head += "".join(f"{h}\r\n" for h in extra)
    return head.encode() + b"\r\n" + body


def reason(raw: bytes, envelope_from: str | None = "taro@example.jp") -> str | None:
    return auto_reply_reason(parse(raw), envelope_from)


def test_ordinary_customer_mail_may_be_answered() -> None:
    assert reason(mail()) is None


@pytest.mark.parametrize("name", ["blank-docomo.eml", "blank-docomo-emoji.eml", "blank-au-sjis.eml"])
def test_corpus_signup_mail_may_be_answered(name: str) -> None:
    assert auto_reply_reason(parse((CORPUS / "phone" / name).read_bytes()), None) is None


def test_corpus_vacation_reply_is_auto_submitted() -> None:
    raw = (CORPUS / "noise" / "vacation-autoreply.eml").read_bytes()
    assert auto_reply_reason(parse(raw), "taro@example.jp") == "auto-submitted: auto-replied"


def test_corpus_bounce_is_recognised_from_file_and_from_smtp() -> None:
    parsed = parse((CORPUS / "noise" / "bounce-dsn.eml").read_bytes())
    assert auto_reply_reason(parsed, None) == "empty return path"
    assert auto_reply_reason(parsed, "") == "empty envelope sender"
    # Even from a non-null envelope the sender and the report type give it away.
    assert (
        auto_reply_reason(parsed, "bounces@mx.shop.example") == "system sender: MAILER-DAEMON@mx.shop.example"
    )


@pytest.mark.parametrize(
    "value", ["auto-replied", "auto-generated", "Auto-Notified; owner-email=x@y", "AUTO-REPLIED"]
)
def test_auto_submitted_other_than_no(value: str) -> None:
    assert reason(mail(b"x", f"Auto-Submitted: {value}")) == f"auto-submitted: {value.split(';')[0].lower()}"


def test_auto_submitted_no_is_a_person() -> None:
    assert reason(mail(b"x", "Auto-Submitted: no")) is None


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "Bulk"])
def test_bulk_precedence(value: str) -> None:
    assert reason(mail(b"x", f"Precedence: {value}")) == f"precedence: {value.lower()}"


def test_precedence_first_class_is_a_person() -> None:
    assert reason(mail(b"x", "Precedence: first-class")) is None


@pytest.mark.parametrize(
    "header",
    [
        "List-Id: <shop.example>",
        "List-Unsubscribe: <mailto:u@x>",
        "List-Post: NO",
        "List-Help: <x>",
        "X-ML-Name: fml",
    ],
)
def test_mailing_list_headers(header: str) -> None:
    assert (reason(mail(b"x", header)) or "").startswith("mailing list:")


def test_empty_envelope_sender_wins_over_return_path_header() -> None:
    raw = mail(b"x", "Return-Path: <taro@example.jp>")
    assert reason(raw, "") == "empty envelope sender"
    assert reason(raw, "<>") == "empty envelope sender"


def test_return_path_header_only_counts_without_envelope() -> None:
    raw = mail(b"x", "Return-Path: <>")
    assert reason(raw, None) == "empty return path"
    assert reason(raw, "taro@example.jp") is None


def test_no_envelope_and_no_return_path_is_fine() -> None:
    assert reason(mail(), None) is None


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.jp", "mailer-daemon@docomo.ne.jp", "Postmaster@ezweb.ne.jp"]
)
def test_system_senders_in_from(sender: str) -> None:
    assert reason(mail(b"x", sender=sender)) == f"system sender: {sender}"


def test_system_sender_in_envelope() -> None:
    assert reason(mail(), "postmaster@example.jp") == "system sender: postmaster@example.jp"


def test_postmaster_domain_is_not_a_system_sender() -> None:
    assert reason(mail(b"x", sender="taro@postmaster.example.jp")) is None


@pytest.mark.parametrize("value", ["All", "OOF", "AutoReply", "DR, OOF", "RN, NRN, AutoReply"])
def test_x_auto_response_suppress(value: str) -> None:
    assert (reason(mail(b"x", f"X-Auto-Response-Suppress: {value}")) or "").startswith(
        "x-auto-response-suppress:"
    )


def test_x_auto_response_suppress_for_receipts_only_is_fine() -> None:
    assert reason(mail(b"x", "X-Auto-Response-Suppress: DR, RN, NRN")) is None


@pytest.mark.parametrize("header", ["X-Autoreply: yes", "X-Autorespond: vacation"])
def test_autoreply_markers(header: str) -> None:
    assert reason(mail(b"x", header)) == f"{header.split(':')[0].lower()} header"


def test_multipart_report_without_other_hints() -> None:
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx\r\n\r\nAction: failed\r\n"
        b"--b--\r\n"
    )
    raw = mail(body, 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"')
    assert reason(raw) == "delivery report (multipart/report)"


def test_delivery_status_part_inside_mixed() -> None:
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n"
        b"--b--\r\n"
    )
    raw = mail(body, 'Content-Type: multipart/mixed; boundary="b"')
    assert reason(raw) == "delivery report (message/delivery-status)"


def test_delivery_status_root_content_type() -> None:
    raw = mail(b"Action: failed\r\n", "Content-Type: message/delivery-status")
    assert reason(raw) == "delivery report (message/delivery-status)"


def test_person_forwarding_a_bounce_may_be_answered() -> None:
    bounce = (CORPUS / "noise" / "bounce-dsn.eml").read_bytes()
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\nWhat is this?\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
    )
    body += bounce + b"\r\n--b--\r\n"
    raw = mail(body, 'Content-Type: multipart/mixed; boundary="b"')
    assert reason(raw) is None


def test_an_empty_auto_submitted_header_is_a_machine() -> None:
    # Only "no" says a person sent it (RFC 3834 5.1); an empty value is a broken responder, not a person.
    assert reason(mail(b"x", "Auto-Submitted:")) == "auto-submitted: (empty)"
    assert reason(mail(b"x", "Auto-Submitted:   ")) == "auto-submitted: (empty)"


def test_x_failed_recipients_is_a_bounce() -> None:
    # Exim's bounces carry it, also when they come from an ordinary-looking sender.
    raw = mail(b"x", "X-Failed-Recipients: hanako@ezweb.ne.jp", sender="bounces@mx.example.jp")
    assert reason(raw) == "x-failed-recipients header"


@pytest.mark.parametrize(
    "subject",
    [
        "自動応答: 【テスト整体院】会員登録のご案内",
        "【自動返信】ありがとうございます",
        "自動送信メール",
        "不在通知: ご登録ありがとうございます",
        "不在のお知らせ",
        "Automatic reply: 【テスト整体院】会員登録のご案内",
        "Auto-Reply: hello",
        "AutoReply",
        "Out of Office: hello",
        "[Out of the office] back on Monday",
        "Abwesenheitsnotiz: Hallo",
        "Réponse automatique : bonjour",
    ],
)
def test_out_of_office_replies_known_by_their_subject_alone(subject: str) -> None:
    assert reason(mail(b"x", f"Subject: {subject}")) == f"out-of-office subject: {subject!r}"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: 【テスト整体院】会員登録のご案内",
        "Re: 自動応答について質問です",  # a person asking about one, not one
        "自動車の修理で遅れます",
        "予約の件",
        "",
    ],
)
def test_people_writing_about_such_words_are_answered(subject: str) -> None:
    assert reason(mail(b"x", f"Subject: {subject}")) is None


OURS = "In-Reply-To: <0123456789abcdef0123456789abcdef@shop.example>"


def test_a_customer_answering_our_mail_is_a_person() -> None:
    # Replying to our registration mail is how customers will book by mail: never a loop by itself.
    raw = mail(
        "12月3日の15時に予約できますか\r\n".encode(), OURS, "Subject: Re: 【テスト整体院】会員登録のご案内"
    )
    assert auto_reply_reason(parse(raw), "taro@example.jp", ours=frozenset({"shop.example"})) is None


@pytest.mark.parametrize(
    "subject",
    ["Re: 【テスト整体院】会員登録のご案内（休暇中）", "留守にしています", "Away until Monday", "vacation"],
)
def test_an_away_subject_answering_our_own_mail_is_a_loop(subject: str) -> None:
    raw = mail(b"x", OURS, f"Subject: {subject}")
    ours = frozenset({"shop.example"})
    assert auto_reply_reason(parse(raw), "taro@example.jp", ours=ours) == (
        f"away subject {subject!r} in reply to our own mail"
    )
    # The same subject on mail that does not answer ours is a person writing.
    assert reason(mail(b"x", f"Subject: {subject}")) is None
    other = mail(
        b"x", "In-Reply-To: <0123456789abcdef0123456789abcdef@elsewhere.example>", f"Subject: {subject}"
    )
    assert auto_reply_reason(parse(other), "taro@example.jp", ours=ours) is None


def test_references_to_our_own_mail_count_like_in_reply_to() -> None:
    raw = mail(
        b"x",
        "References: <a@x.example> <0123456789abcdef0123456789abcdef@shop.example>",
        "Subject: 留守にしています",
    )
    assert auto_reply_reason(parse(raw), None, ours=frozenset({"shop.example"})) is not None
