"""ja: the field readers, on every corpus notice and on the variations real notices have."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.mail.parse import parse
from mailgate.rules.blocks import find, find_all, labelled, split_sections
from mailgate.rules.ja import booking, contact, dates, inquiry, parsers
from mailgate.rules.ja.parsers import ParseContext
from mailgate.rules.ja.values import FieldError
from tests.conftest import CORPUS

TZ = ZoneInfo("Asia/Tokyo")
NOV = datetime(2026, 11, 26, 21, 14, tzinfo=TZ)
MARKERS = {"after": ["[ 変更後 ]"], "before": ["[ 変更前 ]"]}


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def dt_range(text: str, reference: datetime = NOV) -> tuple[str | None, str | None]:
    start, end = dates.datetime_range([text], TZ, reference)
    return iso(start), iso(end)


# ------------------------------------------------------------------------------------------ corpus
# What the rules files ask of each source, read here with blocks + ja alone: the corpus values must come out.

LABELS = {
    "id": ["予約番号"],
    "when": ["予約日時", "来店日時", "利用日時"],
    "menu": ["予約内容", "メニュー", "メニュー名"],
    "staff": ["担当スタッフ", "指名スタッフ", "担当者"],
    "customer": ["予約者", "氏名"],
}


def read_notice(path: str) -> dict[str, Any]:
    mail = parse((CORPUS / path).read_bytes())
    assert mail.date is not None
    ctx = ParseContext(TZ, mail.date)
    sections = split_sections(mail.text, MARKERS)
    top = labelled(sections[""])
    current = labelled(sections["after"]) if "after" in sections else top
    out: dict[str, Any] = {}

    def field(values: dict[str, list[str]], key: str, parser: str) -> Any:
        lines = find(values, LABELS[key]) or find(top, LABELS[key])
        return None if lines is None else parsers.PARSERS[parser](lines, ctx)

    def when(values: dict[str, list[str]]) -> dict[str, str | None]:
        start, end = field(values, "when", "datetime_range")
        menu_lines = find(values, LABELS["menu"])
        minutes = parsers.PARSERS["duration"](menu_lines, ctx) if menu_lines else None
        if end is None and minutes is not None:
            end = start + minutes  # SALON BOARD gives a duration, not an end
        return {"start": iso(start), "end": iso(end)}

    if (value := field(current, "id", "reservation_id")) is not None:
        out["external_id"] = value
    if find(current, LABELS["when"]) is not None:
        out |= when(current)
    if "before" in sections:
        out["previous"] = when(labelled(sections["before"]))
    if (lines := find(current, LABELS["menu"])) is not None:
        out["menu"] = parsers.PARSERS["menu"](lines, ctx)
    if (lines := find(current, LABELS["staff"])) is not None:
        out["staff"] = parsers.PARSERS["staff"](lines, ctx)
    customer: dict[str, str] = {}
    if (lines := find(current, LABELS["customer"])) is not None:
        customer = parsers.PARSERS["person"](lines, ctx)
    for key, labels, parser in [
        ("name", ["名前(姓)", "名前(名)"], "name"),
        ("name", ["お名前"], "name"),
        ("name_kana", ["フリガナ(セイ)", "フリガナ(メイ)"], "kana"),
        ("email", ["メールアドレス"], "email"),
        ("phone", ["電話番号"], "phone"),
    ]:
        if (lines := find_all(current, labels)) is not None:
            customer[key] = parsers.PARSERS[parser](lines, ctx)
    if customer:
        out["customer"] = customer
    if (lines := find(current, ["お問い合わせ内容"])) is not None:
        out["kind"] = inquiry.inquiry_kind(parsers.PARSERS["text"](lines, ctx))
    return out


VENDOR_NOTICES = sorted(
    str(p.relative_to(CORPUS))
    for d in ("stores", "salonboard", "airreserve")
    for p in (CORPUS / d).glob("*.eml")
)


def test_every_vendor_notice_is_checked() -> None:
    assert len(VENDOR_NOTICES) == 7


@pytest.mark.parametrize("path", VENDOR_NOTICES)
def test_corpus_notice_fields(path: str) -> None:
    expected = json.loads((CORPUS / path).with_suffix(".expected.json").read_text())
    actual = read_notice(path)
    for key in ("external_id", "start", "end", "menu", "staff", "customer", "previous", "kind"):
        if key in expected:
            assert actual.get(key, "<missing>") == expected[key], key


# ------------------------------------------------------------------------------------ reservation_id


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["87246923"], "87246923"),
        (["BE64275292"], "BE64275292"),
        (["11Q3XETM2"], "11Q3XETM2"),
        (["　ＢＥ６４２７５２９２　"], "BE64275292"),
        (["", "8724 6923"], "87246923"),
        (["AB-12_34"], "AB-12_34"),
    ],
)
def test_reservation_id(lines: list[str], expected: str) -> None:
    assert booking.reservation_id(lines) == expected


@pytest.mark.parametrize("lines", [[], [""], ["予約番号なし"], ["87246923 (Web)"], ["ABC#1"]])
def test_reservation_id_rejects(lines: list[str]) -> None:
    with pytest.raises(FieldError, match="no reservation number"):
        booking.reservation_id(lines)


# ------------------------------------------------------------------------------------ datetime_range

S, E = "2026-12-05T12:00:00+09:00", "2026-12-05T13:00:00+09:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年12月03日 (木) 13:00 ~ 14:00", ("2026-12-03T13:00:00+09:00", "2026-12-03T14:00:00+09:00")),
        ("2026/12/05(土) 12:00～13:00", (S, E)),  # full-width tilde U+FF5E
        ("2026/12/05(土) 12:00〜13:00", (S, E)),  # wave dash U+301C
        ("2026/12/05(土) 12:00∼13:00", (S, E)),
        ("2026/12/05(土) 12:00-13:00", (S, E)),
        ("2026/12/05(土) 12:00 − 13:00", (S, E)),  # minus sign
        ("2026/12/05(土) 12:00–13:00", (S, E)),  # en dash
        ("2026/12/05(土) 12:00—13:00", (S, E)),  # em dash
        ("2026/12/05(土) 12:00ー13:00", (S, E)),  # long vowel mark between times
        ("2026/12/05(土) 12:00－13:00", (S, E)),  # full-width hyphen
        ("2026/12/05(土) 12:00から13:00", (S, E)),
        ("２０２６／１２／０５（土）１２：００～１３：００", (S, E)),
        ("２０２６年１２月５日（土）　１２時〜１３時", (S, E)),
        ("2026-12-05 12:00 - 13:00", (S, E)),
        ("2026.12.05 12:00~13:00", (S, E)),
        ("2026/12/05(土) 12:00～2026/12/05(土) 13:00", (S, E)),
        ("令和8年12月5日(土) 12:00~13:00", (S, E)),
        ("2026年12月02日（水）10:00", ("2026-12-02T10:00:00+09:00", None)),
        ("2026年12月02日（水）10:00〜", ("2026-12-02T10:00:00+09:00", None)),
        ("2026年12月02日（水）10:00 (所要時間60分)", ("2026-12-02T10:00:00+09:00", None)),
        ("12月5日(土) 9:00-10:30", ("2026-12-05T09:00:00+09:00", "2026-12-05T10:30:00+09:00")),
        ("12/5 9:00-10:30", ("2026-12-05T09:00:00+09:00", "2026-12-05T10:30:00+09:00")),
        ("2026年12月5日 13時30分〜14時", ("2026-12-05T13:30:00+09:00", "2026-12-05T14:00:00+09:00")),
        ("2026年12月5日 13時", ("2026-12-05T13:00:00+09:00", None)),
        ("2026年12月5日 13時半〜14時15分", ("2026-12-05T13:30:00+09:00", "2026-12-05T14:15:00+09:00")),
        ("2026年12月5日 午後1時", ("2026-12-05T13:00:00+09:00", None)),
        ("2026年12月5日 午後1時〜午後2時30分", ("2026-12-05T13:00:00+09:00", "2026-12-05T14:30:00+09:00")),
        ("2026年12月5日 午後1時から3時", ("2026-12-05T13:00:00+09:00", "2026-12-05T15:00:00+09:00")),
        ("2026年12月5日 午前10時〜11時", ("2026-12-05T10:00:00+09:00", "2026-12-05T11:00:00+09:00")),
        ("2026年12月5日 午前11時〜午後1時", ("2026-12-05T11:00:00+09:00", "2026-12-05T13:00:00+09:00")),
        ("2026年12月5日 午前11時〜1時", ("2026-12-05T11:00:00+09:00", "2026-12-05T13:00:00+09:00")),
        ("2026年12月5日 午前0時", ("2026-12-05T00:00:00+09:00", None)),
        ("2026年12月5日 午後12時", ("2026-12-05T12:00:00+09:00", None)),
        ("2026/12/05 1:00 PM - 2:00 PM", ("2026-12-05T13:00:00+09:00", "2026-12-05T14:00:00+09:00")),
        ("2026/12/05 (土祝) 12:00~13:00", (S, E)),  # a holiday mark after the weekday
        ("2026/12/05 (Sat) 12:00~13:00", (S, E)),
    ],
)
def test_datetime_range(text: str, expected: tuple[str, str | None]) -> None:
    assert dt_range(text) == expected


def test_datetime_range_over_several_lines() -> None:
    start, end = dates.datetime_range(["2026年12月5日(土)", "12:00～13:00"], TZ, NOV)
    assert (iso(start), iso(end)) == (S, E)


@pytest.mark.parametrize(
    ("text", "reference", "expected_start"),
    [
        # A December notice about January is about next year.
        ("1月5日(火) 10:00", datetime(2026, 12, 20, 9, 0, tzinfo=TZ), "2027-01-05T10:00:00+09:00"),
        ("1/5 10:00", datetime(2026, 12, 20, 9, 0, tzinfo=TZ), "2027-01-05T10:00:00+09:00"),
        # A January notice about late December (a change, a late cancellation) is about last year.
        ("12月28日(月) 10:00", datetime(2027, 1, 3, 9, 0, tzinfo=TZ), "2026-12-28T10:00:00+09:00"),
        ("12月5日 10:00", datetime(2026, 11, 26, 9, 0, tzinfo=TZ), "2026-12-05T10:00:00+09:00"),
        # Up to ~2 months back stays this year; further back is next year.
        ("10月1日 10:00", datetime(2026, 11, 26, 9, 0, tzinfo=TZ), "2026-10-01T10:00:00+09:00"),
        ("9月1日 10:00", datetime(2026, 11, 26, 9, 0, tzinfo=TZ), "2027-09-01T10:00:00+09:00"),
        # The reference is read in the shop's zone: 2026-12-31T20:00Z is already 2027-01-01 in Tokyo.
        ("3月1日 10:00", datetime(2026, 12, 31, 20, 0, tzinfo=ZoneInfo("UTC")), "2027-03-01T10:00:00+09:00"),
        ("2月29日 10:00", datetime(2027, 12, 20, tzinfo=TZ), "2028-02-29T10:00:00+09:00"),
        ("1月5日 10:00", datetime(2026, 12, 20, 9, 0), "2027-01-05T10:00:00+09:00"),  # naive: taken as local
    ],
)
def test_year_is_inferred_from_the_mail_date(text: str, reference: datetime, expected_start: str) -> None:
    assert dt_range(text, reference)[0] == expected_start


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026年12月03日 (木)", r"no time range in '2026年12月03日 \(木\)'"),
        ("13:00 ~ 14:00", "no date"),
        ("", "no date"),
        ("未定", "no date"),
        ("2026/12/05 24:00", "no such time 24:00"),
        ("2026/12/05 12:60", "no such time"),
        ("2026/12/05 10:00~24:00", "no such time 24:00"),
        ("2026/12/05 14:00~13:00", "end not after start"),
        ("2026/12/05 23:00~1:00", "end not after start"),  # overnight: not a thing for a salon
        ("2026/12/05 13:00~13:00", "end not after start"),
        ("2026/12/05 12:00~2026/12/06 13:00", "end on another day"),
        ("2026/02/30 10:00", "no such date 2026-02-30"),
        ("2026/13/01 10:00", "no such date"),
        ("2月30日 10:00", "no such date"),
        ("2026年12月03日 (金) 13:00", r"weekday \(金\) does not match 2026-12-03"),
        ("2026年12月5日 午後13時", "hour 13 after"),
    ],
)
def test_datetime_range_rejects(text: str, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        dt_range(text)


def test_datetime_range_returns_aware_datetimes_in_the_shop_zone() -> None:
    start, end = dates.datetime_range(["2026/12/05 12:00~13:00"], TZ, NOV)
    assert start.tzinfo is TZ and end is not None and end.tzinfo is TZ
    assert end - start == timedelta(hours=1)


# ------------------------------------------------------------------------------------------ duration


@pytest.mark.parametrize(
    ("lines", "minutes"),
    [
        (["ボディケア＋整体＋骨盤矯正", "（所要時間目安：1時間30分）"], 90),
        (["90分"], 90),
        (["１時間"], 60),
        (["1.5時間"], 90),
        (["所要時間 60分"], 60),
        (["所要時間：約45分"], 45),
        (["(所要時間目安:2時間)"], 120),
        (["1時間半"], 90),
        (["（90分）"], 90),
        (["60min"], 60),
    ],
)
def test_duration(lines: list[str], minutes: int) -> None:
    assert booking.duration(lines) == timedelta(minutes=minutes)


@pytest.mark.parametrize("lines", [[], ["整体 60分コース"], ["カット"], ["予約時合計金額　6,700円"]])
def test_no_duration(lines: list[str]) -> None:
    assert booking.duration(lines) is None


@pytest.mark.parametrize("lines", [["所要時間：未定"], ["所要時間 0分"], ["所要時間 3000分"]])
def test_duration_rejects(lines: list[str]) -> None:
    with pytest.raises(FieldError):
        booking.duration(lines)


# -------------------------------------------------------------------------------------------- person

TARO = {
    "name": "山田太郎",
    "name_kana": "ヤマダタロウ",
    "email": "yamada.taro@example.jp",
    "phone": "09012345678",
}


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["山田 太郎", "(ヤマダ タロウ)", "yamada.taro@example.jp", "090-1234-5678"], TARO),
        (["090-1234-5678", "yamada.taro@example.jp", "（ヤマダ　タロウ）", "山田　太郎"], TARO),  # shuffled
        (["山田 太郎 様", "(やまだ たろう)", "yamada.taro@example.jp", "090（1234）5678"], TARO),
        (["山田 太郎", "(ﾔﾏﾀﾞ ﾀﾛｳ)", "yamada.taro＠example.jp", "０９０−１２３４−５６７８"], TARO),
        (["山田 太郎", "ヤマダ タロウ", "TEL: 090-1234-5678", "メール：yamada.taro@example.jp"], TARO),
        (["山田 太郎（ヤマダ タロウ）", "yamada.taro@example.jp 090 1234 5678"], TARO),
        (["井戸 貴之（イド タカユキ）"], {"name": "井戸貴之", "name_kana": "イドタカユキ"}),
        (["井戸 貴之 様"], {"name": "井戸貴之"}),
        (["井戸 貴之 さん"], {"name": "井戸貴之"}),
        (
            ["鈴木 花子", "hanako@example.ne.jp", "080-2222-3333"],
            {"name": "鈴木花子", "email": "hanako@example.ne.jp", "phone": "08022223333"},
        ),
        (["Ｊｏｈｎ Ｓｍｉｔｈ"], {"name": "JohnSmith"}),
        (["スミス ジョン"], {"name": "スミスジョン"}),  # a name in katakana is a name, not its reading
        (["taro..yamada.@docomo.ne.jp"], {"email": "taro..yamada.@docomo.ne.jp"}),
        (["+81 90-1234-5678"], {"phone": "09012345678"}),
        (["+81 (0)90-1234-5678"], {"phone": "09012345678"}),
        (["山田 太郎", "〒100-0001 東京都千代田区1-1"], {"name": "山田太郎"}),  # an address is not the name
    ],
)
def test_person(lines: list[str], expected: dict[str, str]) -> None:
    assert contact.person(lines) == expected


def test_person_keeps_feature_phone_addresses_exactly() -> None:
    for address in [
        "taro..yamada.@docomo.ne.jp",
        ".taro@ezweb.ne.jp",
        "Taro_-.@i.softbank.jp",
        "a+b@example.jp",
    ]:
        assert contact.person(["山田 太郎", address])["email"] == address


@pytest.mark.parametrize("lines", [[], [""], ["-"], ["090-0000-0000"]])
def test_person_rejects(lines: list[str]) -> None:
    with pytest.raises(FieldError):
        contact.person(lines)


@pytest.mark.parametrize("name", ["山田\u202e郎太 様", "山田\x00太郎"])
def test_a_name_with_control_characters_is_an_error_not_a_name(name: str) -> None:
    # Held for an operator with the reason, rather than booked under a name that displays reversed.
    for read in (contact.person, contact.name):
        with pytest.raises(FieldError, match="characters a name cannot have"):
            read([name, "090-1234-5678"])


def test_zero_width_spaces_in_a_notice_name_are_dropped() -> None:
    assert contact.person(["山田\u200b太郎 様", "090-1234-5678"])["name"] == "山田太郎"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["山田 太郎"], "山田太郎"),
        (["山田　太郎　様"], "山田太郎"),
        (["井戸 貴之（イド タカユキ）"], "井戸貴之"),
        (["田中", "太郎"], "田中太郎"),  # Airリザーブ: 名前(姓) + 名前(名)
        (["田中太郎"], "田中太郎"),
        (["中村 一郎", "ichiro.n@example.com"], "中村一郎"),
        (["ﾔﾏﾀﾞ ﾀﾛｳ"], "ヤマダタロウ"),
        (["山田 太郎", "初めての来店です。"], "山田太郎"),  # a note under the name
        (["山田太郎", "※紹介"], "山田太郎"),
        (["山田 太郎", "腰痛あり"], "山田太郎"),
        (["さくら ももこ"], "さくらももこ"),  # a name in hiragana is a name
    ],
)
def test_name(lines: list[str], expected: str) -> None:
    assert contact.name(lines) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["(ヤマダ タロウ)"], "ヤマダタロウ"),
        (["井戸 貴之（イド タカユキ）"], "イドタカユキ"),
        (["タナカ", "タロウ"], "タナカタロウ"),  # Airリザーブ: フリガナ(セイ) + フリガナ(メイ)
        (["タナカタロウ"], "タナカタロウ"),
        (["たなか たろう"], "タナカタロウ"),
        (["ﾀﾅｶ ﾀﾛｳ"], "タナカタロウ"),
        (["山田 太郎", "やまだ たろう"], "ヤマダタロウ"),
        (["スミス・ジョン"], "スミスジョン"),
    ],
)
def test_kana(lines: list[str], expected: str) -> None:
    assert contact.kana(lines) == expected


@pytest.mark.parametrize("lines", [[], ["山田 太郎"], ["Yamada"]])
def test_kana_rejects(lines: list[str]) -> None:
    with pytest.raises(FieldError, match="no reading"):
        contact.kana(lines)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["tanaka@example.jp"], "tanaka@example.jp"),
        (["  Tanaka@Example.JP  "], "Tanaka@Example.JP"),
        (["taro..yamada.@docomo.ne.jp"], "taro..yamada.@docomo.ne.jp"),
        (["taro＠ｅｘａｍｐｌｅ．ｊｐ"], "taro@example.jp"),
        (["メール: <taro@example.jp>"], "taro@example.jp"),
        (["mailto:taro@example.jp"], "taro@example.jp"),
        (["（taro@example.jp）"], "taro@example.jp"),
        (["なし", "taro@example.jp。"], "taro@example.jp"),
    ],
)
def test_email(lines: list[str], expected: str) -> None:
    assert contact.email(lines) == expected


@pytest.mark.parametrize("lines", [[], ["なし"], ["taro@"], ["@example.jp"], ["taro@localhost"]])
def test_email_rejects(lines: list[str]) -> None:
    with pytest.raises(FieldError, match="no email address"):
        contact.email(lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09012345678", "09012345678"),
        ("090-1234-5678", "09012345678"),
        ("090（1234）5678", "09012345678"),
        ("０９０−１２３４−５６７８", "09012345678"),
        ("０９０ー１２３４ー５６７８", "09012345678"),
        ("090‐1234‐5678", "09012345678"),
        ("090―1234―5678", "09012345678"),
        ("090〜1234〜5678", "09012345678"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81-90-1234-5678", "09012345678"),
        ("03-1234-5678", "0312345678"),
        ("(03) 1234-5678", "0312345678"),
        ("TEL：03（1234）5678", "0312345678"),
        ("0120-123-456", "0120123456"),
    ],
)
def test_phone(text: str, expected: str) -> None:
    assert contact.phone([text]) == expected


@pytest.mark.parametrize(
    ("lines", "message"), [([], "no phone"), (["なし"], "no phone"), (["090-0000-0000"], "not a phone")]
)
def test_phone_rejects(lines: list[str], message: str) -> None:
    with pytest.raises(FieldError, match=message):
        contact.phone(lines)


# ------------------------------------------------------------------------------------- staff, menu, text


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["佐藤"], "佐藤"),
        (["  佐藤 花子 "], "佐藤 花子"),
        (["ＳＡＴＯ"], "SATO"),
        (["佐藤", "（指名料 500円）"], "佐藤"),
        (["指名なし"], None),
        (["指名無し"], None),
        (["フリー"], None),
        (["ﾌﾘｰ"], None),
        (["なし"], None),
        (["担当者なし"], None),
        (["指名なし（フリー）"], None),
        (["-"], None),
        (["ー"], None),
        ([""], None),
        ([], None),
    ],
)
def test_staff(lines: list[str], expected: str | None) -> None:
    assert booking.staff(lines) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["整体 60分コース"], "整体 60分コース"),
        (["ボディケア＋整体＋骨盤矯正", "（所要時間目安：1時間30分）"], "ボディケア+整体+骨盤矯正"),
        (["  整体 ６０分  "], "整体 60分"),
        (["", "カット"], "カット"),
    ],
)
def test_menu(lines: list[str], expected: str) -> None:
    assert booking.menu(lines) == expected


@pytest.mark.parametrize("lines", [[], [""], ["（所要時間目安：1時間30分）"]])
def test_menu_rejects(lines: list[str]) -> None:
    with pytest.raises(FieldError, match="no menu"):
        booking.menu(lines)


def test_text_joins_lines() -> None:
    assert inquiry.text(["一行目", "二行目"]) == "一行目\n二行目"
    assert inquiry.text([]) == ""


# ------------------------------------------------------------------------------------------ inquiries


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("12月5日(土)の午前中に整体を予約したいのですが、\n空いている時間はありますか？", "booking_request"),
        ("明日の15時は空いていますか？", "booking_request"),
        ("明後日の午後に伺いたいです", "booking_request"),
        ("来週の火曜日に予約できますか", "booking_request"),
        ("土曜日の夕方は空きがありますか", "booking_request"),
        ("５日の１５：００から予約可能でしょうか", "booking_request"),
        ("12/20に行きたいのですが大丈夫ですか", "booking_request"),
        ("今日の夜、空いてますか？", "booking_request"),
        ("午後から予約お願いしたいです", "booking_request"),
        ("駐車場はありますか？", "question"),
        ("平日の午後に駐車場は空いていますか？", "question"),  # the parking is free, not a slot
        ("来週の火曜日、車で伺っても停められますか？", "question"),
        ("12月5日の14時に予約したいのですが、駐車場はありますか？", "booking_request"),
        ("明日2人まとめて伺いたいです。15時は空いていますか", "booking_request"),
        ("料金を教えてください。予約は必要ですか？", "question"),
        ("日曜日は営業していますか？", "question"),
        ("営業時間を教えてください", "question"),
        ("何時から空いていますか？", "question"),
        ("12月は予約できますか", "question"),  # a month is not a day
        ("3日間の集中コースはありますか", "question"),
        ("明日の予約をキャンセルしたいです", "question"),  # about an existing booking
        ("", "question"),
    ],
)
def test_inquiry_kind(message: str, kind: str) -> None:
    assert inquiry.inquiry_kind(message) == kind


# ------------------------------------------------------------------------------------------ registry


def test_parsers_share_one_signature() -> None:
    assert set(parsers.PARSERS) == {
        "reservation_id",
        "datetime_range",
        "duration",
        "person",
        "name",
        "kana",
        "email",
        "phone",
        "staff",
        "menu",
        "text",
    }
    ctx = ParseContext(TZ, datetime(2026, 12, 20, 9, 0, tzinfo=TZ))
    assert parsers.PARSERS["datetime_range"](["1月5日 10:00"], ctx)[0].year == 2027
    assert parsers.PARSERS["reservation_id"](["87246923"], ctx) == "87246923"
    assert parsers.PARSERS["duration"](["90分"], ctx) == timedelta(minutes=90)
    assert parsers.PARSERS["staff"](["指名なし"], ctx) is None
    assert parsers.PARSERS["text"](["a", "b"], ctx) == "a\nb"


def test_field_error_is_a_value_error() -> None:
    assert issubclass(FieldError, ValueError)


# -------------------------------------------------------------------------------------- properties

_DATEISH = st.text(
    st.sampled_from(list("0123456789０１２年月日/:：~〜～-ー−時分半午前後(（)）木土 　R令和元から")),
    max_size=60,
)
REFERENCES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), _DATEISH), REFERENCES)
def test_datetime_range_raises_only_field_error(text: str, reference: datetime) -> None:
    try:
        start, end = dates.datetime_range([text], TZ, reference)
    except FieldError:
        return
    assert start.tzinfo is TZ
    assert end is None or (end > start and end.date() == start.date())


_PHONEISH = st.text(st.sampled_from(list("0123456789０９+-－−ー()（） 　〜~TEL:")), max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), _PHONEISH), max_size=3))
def test_phone_is_digits_only(lines: list[str]) -> None:
    try:
        value = contact.phone(lines)
    except FieldError:
        return
    assert value.isascii() and value.isdigit()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), _PHONEISH), max_size=4))
def test_person_raises_only_field_error_and_phone_is_digits(lines: list[str]) -> None:
    try:
        value = contact.person(lines)
    except FieldError:
        return
    assert value and set(value) <= {"name", "name_kana", "email", "phone"}
    assert "phone" not in value or (value["phone"].isascii() and value["phone"].isdigit())
