"""Notices as real mail clients and vendors send them: forward prefixes of every client on the subject,
the vendors' mail that is not a booking, notes in a customer block, questions that name a day."""

from __future__ import annotations

from email.header import Header
from pathlib import Path

import pytest

from mailgate import config
from mailgate.authn import find_originals
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests import notices
from tests.authn.helpers import inline_forward, signed, txt_records
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)
RULES_DIR = CFG.rules_dir


def decide(raw: bytes) -> Intent:
    return engine.decide(
        RULES, parse(raw), "notices@shop.example", None, CFG, lambda: find_originals(raw, txt_records())
    )


# --- a vendor's mail that is not a booking ---------------------------------------------------------

SUMMARY = """JITANBODY整体院 様

本日 12月03日(木) の予約は2件です。

◆予約番号:
  87246923
◆予約日時:
  2026年12月03日 (木) 13:00 ~ 14:00

◆予約番号:
  87246924
◆予約日時:
  2026年12月03日 (木) 15:00 ~ 16:00
"""
ANNOUNCEMENT = (
    "STORES 予約をご利用いただきありがとうございます。\n年末年始のサポート窓口についてご案内します。\n"
)
MARKETING = "今だけ！有料プランが3か月無料。\nキャンセル待ち機能も使えます。\n"


@pytest.mark.parametrize(
    ("sender", "subject", "body", "why"),
    [
        ("STORES 予約 <noreply@coubic.com>", "[STORES 予約] 本日の予約一覧 (12/03)", SUMMARY, "summary"),
        (
            "STORES <info@stores.jp>",
            "【STORES】年末年始のサポート窓口についてのお知らせ",
            ANNOUNCEMENT,
            "announcement",
        ),
        ("STORES <news@stores.jp>", "【STORES】有料プラン 3か月無料キャンペーン", MARKETING, "marketing"),
        ("STORES <news@stores.jp>", "今月のおすすめ機能", MARKETING, "not a booking notice"),
    ],
    ids=["daily-summary", "announcement", "marketing", "anything-else"],
)
def test_a_vendors_mail_that_is_not_a_booking_is_ignored_with_its_reason(
    sender: str, subject: str, body: str, why: str
) -> None:
    signer = ("coubic.com", "s1") if "coubic" in sender else ("stores.jp", "s1")
    intent = decide(notices.mail(subject, body, sender=sender, signer=signer))
    assert (intent.action, intent.source) == ("ignore", "stores"), intent.reason
    assert why in intent.reason
    assert intent.fields == {}


def test_a_vendors_mail_in_new_wording_that_names_a_reservation_is_held_not_ignored() -> None:
    body = (
        "JITANBODY整体院 様\n\n予約が確定しました。\n\n◆予約番号:\n  87246923\n\n"
        "◆予約日時:\n  2026年12月03日 (木) 13:00 ~ 14:00\n"
    )
    intent = decide(notices.mail("[STORES 予約] 予約確定のご連絡", body))
    assert intent.action == "hold", intent.reason
    assert "changed its wording" in intent.reason and "予約確定のご連絡" in intent.reason


@pytest.mark.parametrize(
    ("sender", "signer", "subject"),
    [
        (
            "SALON BOARD <info@salonboard.com>",
            ("salonboard.com", "sb"),
            "【SALON BOARD】システムメンテナンスのお知らせ",
        ),
        (
            "Airリザーブ <info@airreserve.net>",
            ("airreserve.net", "ar"),
            "【Airリザーブ】新機能リリースのご案内",
        ),
    ],
)
def test_other_vendors_announcements_are_ignored_too(
    sender: str, signer: tuple[str, str], subject: str
) -> None:
    intent = decide(notices.mail(subject, ANNOUNCEMENT, sender=sender, signer=signer))
    assert intent.action == "ignore", intent.reason


def test_a_forged_vendor_announcement_is_held_not_ignored() -> None:
    # Ignoring is a decision about a genuine vendor mail: an unsigned one is not the vendor's.
    intent = decide(
        notices.mail("【STORES】お知らせ", ANNOUNCEMENT, sender="STORES <info@stores.jp>", signer=None)
    )
    assert intent.action == "hold" and "not proven genuine" in intent.reason


# --- forward prefixes on the subject ---------------------------------------------------------------

PREFIXES = [
    "Fwd: ",  # Gmail, Thunderbird, Apple Mail
    "FW: ",  # Outlook
    "Fw: ",  # Becky!, Yahoo!メール
    "転送: ",  # Japanese clients
    "転送：",  # full-width colon
    "[転送] ",
    "【転送】",
    "Ｆｗｄ：",  # full-width letters from a phone
    "TR: ",  # French Outlook
    "WG: ",  # German Outlook
    "Fw[2]: ",
    "Fwd: Fwd: ",  # forwarded twice
    "FW: RE: 転送: ",  # stacked by three clients
]


def paste(subject: str | None, *, marker: str = "---------- Forwarded message ---------") -> str:
    head = [marker, "From: STORES 予約 <noreply@coubic.com>", "Date: 2026年11月26日(木) 21:14"]
    if subject is not None:
        head.append(f"Subject: {subject}")
    head.append("To: <owner@salon-mail.example>")
    body = parse(notices.stores_booked("87246923")).text
    return "\n".join(head) + "\n\n" + body


def forwarded(pasted: str, subject: str) -> bytes:
    """The trusted forwarder's mail around the paste, under `subject` as the client wrote it."""
    raw = inline_forward(pasted)
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = [line for line in head.split(b"\r\n") if not line.startswith(b"Subject:")]
    lines.append(b"Subject: " + Header(subject, "utf-8").encode().encode("ascii"))
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + body
    assert parse(raw).subject == subject
    return signed(raw, "salon-mail.example", "m1")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_pasted_subject_with_any_clients_forward_prefix_is_recognised(prefix: str) -> None:
    subject = prefix + "[STORES 予約] 予約が入りました"
    intent = decide(forwarded(paste(subject), subject))
    assert (intent.action, intent.fields.get("external_id")) == ("book", "87246923"), intent.reason


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_paste_without_a_subject_line_takes_the_forwards_subject_without_its_prefixes(prefix: str) -> None:
    # Some phone clients paste only From and Date above the text.
    subject = prefix + "[STORES 予約] 予約が入りました"
    intent = decide(forwarded(paste(None), subject))
    assert intent.action == "book", intent.reason


def test_a_rule_anchored_at_the_start_of_the_subject_still_matches_a_forwarded_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (Path(RULES_DIR) / "stores.toml").read_text(encoding="utf-8")
    text = text.replace(
        "subject = ['予約が入りました', '新しい予約', '予約を受け付けました']",
        r"subject = ['^\[STORES 予約\] 予約が入りました$']",
    )
    (rules / "stores.toml").write_text(text, encoding="utf-8")
    anchored = engine.load(CFG, rules)
    subject = "FW: 転送: [STORES 予約] 予約が入りました"
    raw = forwarded(paste(subject), subject)
    intent = engine.decide(
        anchored, parse(raw), "notices@shop.example", None, CFG, lambda: find_originals(raw, txt_records())
    )
    assert intent.action == "book", intent.reason


def test_a_forward_of_a_forward_pasted_twice_finds_the_vendors_notice() -> None:
    inner = paste("[STORES 予約] 予約が入りました")
    outer_paste = (
        "-----Original Message-----\n"
        "From: 受付 <uketsuke@salon-mail.example>\n"
        "Sent: Thursday, November 26, 2026 9:20 PM\n"
        "To: notices@shop.example\n"
        "Subject: Fwd: [STORES 予約] 予約が入りました\n\n"
        "転送します\n\n" + inner
    )
    intent = decide(forwarded(outer_paste, "FW: Fwd: [STORES 予約] 予約が入りました"))
    assert intent.action == "book", intent.reason


# --- a customer block with a note ------------------------------------------------------------------


def stores_booked_with(customer_lines: str) -> bytes:
    body = f"""JITANBODY整体院 様

STORES 予約 で新しい予約が入りました。

◆予約番号:
  87246923

◆予約者:
{customer_lines}

◆予約日時:
  2026年12月03日 (木) 13:00 ~ 14:00
"""
    return notices.mail("[STORES 予約] 予約が入りました", body)


CONTACT = "  (ヤマダ タロウ)\n  yamada.taro@example.jp\n  090-1234-5678"


@pytest.mark.parametrize(
    "lines",
    [
        f"  山田 太郎\n{CONTACT}\n  初めての来店です。駐車場を利用します",  # a sentence after the contacts
        f"  山田 太郎\n{CONTACT}\n  腰痛あり",  # a short note after the contacts
        f"  山田 太郎 様\n  ※初回来店\n{CONTACT}",  # a marked note between name and contacts
        f"  山田 太郎\n  備考: 紹介者 佐藤\n{CONTACT}",  # a labelled note inside the block
        f"  山田太郎\n  初来店\n{CONTACT}",  # an unspaced name, then a short note
        f"  山田 太郎\n  よろしくお願いします\n{CONTACT}",  # a greeting
        f"  山田 太郎\n  肩こりがひどいので強めでお願いしたいです\n{CONTACT}",  # a long request
    ],
    ids=["sentence-after", "short-after", "marked", "labelled", "unspaced-name", "greeting", "request"],
)
def test_a_note_in_the_customer_block_never_becomes_part_of_the_name(lines: str) -> None:
    intent = decide(stores_booked_with(lines))
    assert intent.action == "book", intent.reason
    assert intent.customer["name"] == "山田太郎"
    assert intent.customer["phone"] == "09012345678"
    assert intent.customer["name_kana"] == "ヤマダタロウ"


def test_a_name_on_two_lines_is_still_one_name() -> None:
    intent = decide(stores_booked_with(f"  山田\n  太郎\n{CONTACT}\n  初来店"))
    assert intent.customer["name"] == "山田太郎"


# --- an inquiry about parking on a weekday ---------------------------------------------------------


def stores_inquiry(message: str) -> bytes:
    body = f"""JITANBODY整体院 様

中村 一郎 さんからお問い合わせがあります。

◆お名前:
  中村 一郎

◆メールアドレス:
  ichiro.n@example.com

◆お問い合わせ内容:
  {message}

--
STORES 予約
"""
    return notices.mail("中村 一郎 さんからお問い合わせがあります", body)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("平日の午後に駐車場は空いていますか？", "question"),
        ("平日の夕方に伺う場合、駐車場は空いていますか？", "question"),
        ("火曜日の午後、車で行っても駐車できますか？", "question"),
        ("平日の昼間、駐車場は利用可能ですか？", "question"),
        ("平日でも駐車場に停められますか", "question"),
        ("平日の午後、駐車場は空いていますか？予約は必要ですか？", "question"),
        ("12月5日の14時に予約したいのですが、駐車場はありますか？", "booking_request"),
        ("明日の15時は空いていますか？車で行きます。", "booking_request"),
    ],
)
def test_an_inquiry_about_parking_on_a_weekday_is_a_question(message: str, kind: str) -> None:
    intent = decide(stores_inquiry(message))
    assert intent.action == "inquiry", intent.reason
    assert intent.fields["kind"] == kind
