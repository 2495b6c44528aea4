"""Notices as real mail clients and vendors send them: forward prefixes of every client on the subject,
the vendors' mail that is not a booking, notes in a customer block, questions that name a day."""

from __future__ import annotations

import pytest

from mailgate import config
from mailgate.authn import find_originals
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests import notices
from tests.authn.helpers import txt_records
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)


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
