"""空メール detection: signatures, carrier footers, quotes and emoji do not count as content."""

from __future__ import annotations

import pytest

from mailgate.mail.blank import MAX_EXAMINED, is_blank, meaningful_text
from mailgate.mail.parse import parse
from tests.conftest import CORPUS


@pytest.mark.parametrize("name", ["blank-docomo.eml", "blank-docomo-emoji.eml", "blank-au-sjis.eml"])
def test_corpus_phone_mails_are_blank(name: str) -> None:
    assert is_blank(parse((CORPUS / "phone" / name).read_bytes()).text)


def test_au_signature_and_footer_are_dropped() -> None:
    text = parse((CORPUS / "phone" / "blank-au-sjis.eml").read_bytes()).text
    assert meaningful_text(text) == "登録"


def test_docomo_emoji_is_dropped() -> None:
    text = parse((CORPUS / "phone" / "blank-docomo-emoji.eml").read_bytes()).text
    assert "\ue63e" not in meaningful_text(text)
    assert meaningful_text(text).startswith("よろしく")


def test_vendor_notice_is_not_blank() -> None:
    text = parse((CORPUS / "stores" / "booked-01.eml").read_bytes()).text
    assert not is_blank(text)


@pytest.mark.parametrize(
    "separator", ["--", "-- ", "__", "---", "－－－", "ーーー", "___", "===", "＝＝＝＝", "*****"]
)
def test_everything_after_signature_separator_is_dropped(separator: str) -> None:
    text = f"登録\n{separator}\n山田太郎\n090-1234-5678\nhttps://example.jp/very/long/signature/line"
    assert meaningful_text(text) == "登録"


def test_two_dashes_inside_text_are_not_a_separator() -> None:
    assert meaningful_text("10時--11時でお願いします") == "10時--11時でお願いします"


@pytest.mark.parametrize("marker", [">", "＞", " > ", "　＞"])
def test_quoted_lines_are_dropped(marker: str) -> None:
    text = f"よろしく\n{marker}以前のメールの本文がここに長々と引用されていますがこれは数えません"
    assert meaningful_text(text) == "よろしく"


def test_reply_intro_line_is_dropped() -> None:
    text = "OK\n2026/11/28 10:00、shop@example.jp さんは書きました:\n> 予約を受け付けました"
    assert meaningful_text(text) == "OK"


def test_original_message_marker_ends_the_text() -> None:
    text = (
        "了解です\n-----Original Message-----\nFrom: shop\n長い本文がここに続きます長い本文がここに続きます"
    )
    assert meaningful_text(text) == "了解です"


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "sent from my ipad",
        "Sent from my Android phone",
        "iPhoneから送信",
        "ｉＰｈｏｎｅから送信",
        "au携帯から送信",
        "au携帯より送信",
        "docomoから送信",
        "Android携帯からの送信",
        "Xperiaから送信しました",
        "Get Outlook for iOS",
    ],
)
def test_carrier_and_mailer_footers_are_dropped(footer: str) -> None:
    assert meaningful_text(f"登録\n\n{footer}\n") == "登録"


def test_a_sentence_mentioning_sending_is_kept() -> None:
    text = "明日の10時に予約したいのですが、空いていますか？お返事をお待ちしています。iPhoneから送信します"
    assert meaningful_text(text) == text


def test_private_use_and_unicode_emoji_are_dropped() -> None:
    assert meaningful_text("\ue63e\ue6a0 よろしく😀👍🏻❤️☀✨ \U000f0000") == "よろしく"


def test_full_width_spaces_and_blank_lines_are_dropped() -> None:
    assert meaningful_text("\u3000\u3000登録\u3000\u3000お願い\n\n\u3000\n \t\n") == "登録 お願い"


def test_only_whitespace_is_empty() -> None:
    assert meaningful_text(" \n\u3000\r\n\t") == ""
    assert is_blank("")


def test_limit_is_inclusive() -> None:
    assert is_blank("あ" * 30)
    assert not is_blank("あ" * 31)
    assert is_blank("あ" * 31, limit=31)
    assert not is_blank("登録", limit=1)


def test_question_is_not_blank() -> None:
    text = "12月5日の午前中に整体を予約したいのですが、空きはありますか。\nよろしくお願いします。\n--\n中村"
    assert not is_blank(text)


def test_short_words_with_signature_and_emoji_are_blank() -> None:
    text = "空メール\ue63e\r\n\r\n-- \r\n山田 太郎\r\nTEL 090-1234-5678\r\nhttps://example.jp/\r\n"
    assert is_blank(text)


def test_only_the_first_page_of_a_long_letter_is_examined() -> None:
    letter = "登録します\n" + "長い本文です。" * 200_000  # about 1.4 million characters
    kept = meaningful_text(letter)
    assert kept.startswith("登録します") and len(kept) <= MAX_EXAMINED
    assert not is_blank(letter)
