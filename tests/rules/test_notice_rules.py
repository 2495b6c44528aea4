"""Vendor rules end to end in the engine: real notices vary in encoding, label order and forwarding,
and `rules check` names the file and line of each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate import config
from mailgate.authn import find_originals
from mailgate.mail.dkim import load_txt_records
from mailgate.mail.parse import parse
from mailgate.rules import engine
from mailgate.rules.intent import Intent
from tests import notices
from tests.conftest import CORPUS

CFG = config.load(CORPUS / "mailgate.toml")
RULES = engine.load(CFG)
DNS = load_txt_records(CORPUS / "keys" / "dns.json")


def decide(raw: bytes, rcpt: str = "notices@shop.example") -> Intent:
    return engine.decide(RULES, parse(raw), rcpt, None, CFG, lambda: find_originals(raw, DNS))


@pytest.mark.parametrize(
    ("charset", "cte"),
    [
        ("utf-8", "base64"),
        ("utf-8", "quoted-printable"),
        ("iso-2022-jp", "7bit"),
        ("shift_jis", "8bit"),
        ("euc-jp", "8bit"),
    ],
)
def test_a_notice_reads_the_same_in_every_encoding(charset: str, cte: str) -> None:
    intent = decide(notices.stores_booked("1234", charset=charset, cte=cte))
    assert intent.action == "book", intent.reason
    assert intent.fields["external_id"] == "1234"
    assert intent.fields["start"] == "2026-12-03T13:00:00+09:00"
    assert intent.customer["name"] == "山田太郎" and intent.customer["phone"] == "09012345678"


def test_a_genuine_notice_whose_customer_name_carries_a_direction_override_is_held() -> None:
    intent = decide(notices.stores_booked("1234", name="山田 \u202e郎太"))
    assert intent.action == "hold"
    assert "characters a name cannot have" in intent.reason


def test_full_width_digits_and_another_label_order_read_the_same() -> None:
    body = """JITANBODY整体院 様

◆予約日時：
  ２０２６年１２月０３日（木）１３：００〜１４：００

◆担当スタッフ:
  佐藤

◆予約者:
  山田　太郎
  （ヤマダ　タロウ）
  ０９０－１２３４－５６７８
  yamada.taro@example.jp

◆予約番号:
  ８７２４６９２３
"""
    intent = decide(notices.mail("[STORES 予約] 予約が入りました", body))
    assert intent.action == "book", intent.reason
    assert intent.fields["external_id"] == "87246923"
    assert (intent.fields["start"], intent.fields["end"]) == (
        "2026-12-03T13:00:00+09:00",
        "2026-12-03T14:00:00+09:00",
    )
    assert intent.customer == {
        "name": "山田太郎",
        "name_kana": "ヤマダタロウ",
        "phone": "09012345678",
        "email": "yamada.taro@example.jp",
    }


def test_a_notice_without_a_time_is_held_with_what_is_missing() -> None:
    body = "◆予約番号:\n  42\n\n◆予約者:\n  山田 太郎\n"
    intent = decide(notices.mail("[STORES 予約] 予約が入りました", body))
    assert intent.action == "hold" and intent.source == "stores"
    assert "start not found" in intent.reason


def test_an_unreadable_date_is_held_with_the_field_named() -> None:
    body = "◆予約番号:\n  42\n\n◆予約日時:\n  近日中\n"
    intent = decide(notices.mail("[STORES 予約] 予約が入りました", body))
    assert intent.action == "hold" and "when:" in intent.reason


def test_the_missing_year_comes_from_the_mail_date_across_new_year() -> None:
    from datetime import datetime

    raw = notices.stores_booked(
        "55", "1月5日(火) 10:00 ~ 11:00", date=datetime.fromisoformat("2026-12-28T09:00:00+09:00")
    )
    assert decide(raw).fields["start"] == "2027-01-05T10:00:00+09:00"


def test_a_vendor_notice_sent_to_the_signup_address_does_not_register_the_vendor() -> None:
    # Staff sometimes forward to the wrong address: the notice is still a notice.
    intent = decide((CORPUS / "stores" / "booked-01.eml").read_bytes(), rcpt="signup@shop.example")
    assert (intent.action, intent.source) == ("book", "stores")


def test_rules_check_names_file_and_line_of_each_mistake(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.toml").write_text(
        'source = "bad"\nsigned_by = "x.example"\n\n[fields]\nwhen = ["日時"]\nnonsense = ["x"]\n\n'
        '[[rule]]\nname = "r"\nfrom = ["a@x.example"]\naction = "book"\nsection = "after"\n'
        'fields.menu = { label = ["メニュー"], parse = "nope" }\n',
        encoding="utf-8",
    )
    with pytest.raises(engine.RulesError) as e:
        engine.load(CFG, rules)
    text = str(e.value)
    assert f"{rules / 'bad.toml'}:6: fields.nonsense: unknown field" in text
    assert f"{rules / 'bad.toml'}:12: rule 1: section 'after' is not one of the file's [sections]" in text
    assert "unknown parser 'nope'" in text
