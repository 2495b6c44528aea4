from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.mail.jis import GETA, KANJI_SUBSTITUTES, jis_loses, jis_safe, needs_jis


def _roundtrips(text: str) -> bool:
    return text.encode("iso2022_jp").decode("iso2022_jp") == text


@pytest.mark.parametrize(
    ("given_text", "expected"),
    [
        ("①", "(1)"),
        ("⑩", "(10)"),
        ("⑳", "(20)"),
        ("㈱", "(株)"),
        ("㈲", "(有)"),
        ("㈹", "(代)"),
        ("㍻", "平成"),
        ("㍼", "昭和"),
        ("㍾", "明治"),
        ("㍽", "大正"),
        ("㍿", "株式会社"),
        ("㎝", "cm"),
        ("㎏", "kg"),
        ("㎡", "m2"),
        ("Ⅰ", "I"),
        ("Ⅳ", "IV"),
        ("Ⅹ", "X"),
        ("\uff5e", "\u301c"),  # FULLWIDTH TILDE → WAVE DASH
        ("\uff0d", "\u2212"),  # FULLWIDTH HYPHEN-MINUS → MINUS SIGN
        ("￢", "¬"),
        ("∥", "‖"),
        ("￠", "¢"),
        ("￡", "£"),
        ("¥", "￥"),
    ],
)
def test_characters_missing_from_jis_get_their_readable_equivalent(given_text: str, expected: str) -> None:
    assert jis_safe(given_text) == expected


def test_half_width_katakana_becomes_full_width_with_voicing_marks_composed() -> None:
    assert jis_safe("ｶﾞｯｺｳ ﾊﾟｰﾏ ｶｯﾄ") == "ガッコウ パーマ カット"


def test_stray_half_width_voicing_mark_keeps_a_visible_mark() -> None:
    assert jis_safe("ﾞ") == "゛"


def test_text_already_in_jis_x_0208_is_unchanged() -> None:
    text = "山田 太郎様\r\n12月3日（木）13:00〜14:00　カット −1,000円 ※当日キャンセル不可 ♪☆〒‖"
    assert jis_safe(text) == text


def test_each_emoji_becomes_one_geta_and_selectors_are_dropped() -> None:
    # heart + VS16, thumbs up + skin tone, ZWJ family, flag
    assert jis_safe("予約\u2764\ufe0f") == "予約" + GETA
    assert jis_safe("\U0001f44d\U0001f3fb") == GETA
    assert jis_safe("\U0001f468\u200d\U0001f469\u200d\U0001f467") == GETA
    assert jis_safe("\U0001f1ef\U0001f1f5") == GETA


def test_keycap_sequence_keeps_its_digit() -> None:
    assert jis_safe("1\ufe0f\u20e3") == "1"


def test_accented_latin_loses_its_accent_rather_than_becoming_geta() -> None:
    assert jis_safe("Café Crème") == "Cafe Creme"


def test_decomposed_kana_is_composed() -> None:
    assert jis_safe("か\u3099") == "が"


def test_escape_sequences_in_input_cannot_switch_the_decoder() -> None:
    out = jis_safe("a\x1b$Bb\x0e\x0fc")
    assert "\x1b" not in out and "\x0e" not in out and "\x0f" not in out
    assert _roundtrips(out)


def test_lone_surrogate_does_not_raise() -> None:
    assert jis_safe("\ud800x") == GETA + "x"


def test_invisible_format_characters_are_dropped() -> None:
    assert jis_safe("予\u200b約\ufeff") == "予約"


def test_line_breaks_and_tabs_are_kept() -> None:
    assert jis_safe("a\r\n\tb\n") == "a\r\n\tb\n"


_TRICKY = (
    "①⑳㉑㈱㈲㈹㍻㍼㍾㍽㍿㎝㎏㎡ⅠⅩⅰ～－￢∥￠￡￤¥‾—–‒ｶﾞﾊﾟｳﾞﾞﾟ\u3099\u309a"
    "\ufe0f\u200d\u20e3\U0001f3fb\U0001f1ef\U0001f1f5\U0001f468\U0001f469❤♡é\u0301\x1b\x0e\x0f\x00"
    "\r\n\t $BJ(\\~ あア亜ー〜−‖"
)
_japanese_heavy = st.text(
    st.one_of(
        st.sampled_from(_TRICKY),
        st.characters(min_codepoint=0x3000, max_codepoint=0x30FF),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0xFF00, max_codepoint=0xFFEF),
        st.characters(min_codepoint=0x1F000, max_codepoint=0x1FAFF),
    ),
    max_size=40,
)
# Everything Python strings can hold, lone surrogates included.
_any_text = st.text(st.characters(exclude_categories=()), max_size=40)


@settings(max_examples=400)
@given(st.one_of(_japanese_heavy, _any_text))
def test_output_always_encodes_and_decodes_back_in_iso2022jp(text: str) -> None:
    assert _roundtrips(jis_safe(text))


@settings(max_examples=400)
@given(st.one_of(_japanese_heavy, _any_text))
def test_jis_safe_is_idempotent(text: str) -> None:
    once = jis_safe(text)
    assert jis_safe(once) == once


@given(st.text(st.sampled_from(_TRICKY), max_size=20), st.text(st.sampled_from(_TRICKY), max_size=20))
def test_safe_text_stays_safe_when_concatenated(a: str, b: str) -> None:
    # jis_safe output is meant to be glued into templates: the codec state must not leak.
    assert _roundtrips(jis_safe(a) + jis_safe(b))


CARRIERS = ("docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp")


@pytest.mark.parametrize(
    "addr",
    ["taro..yamada.@docomo.ne.jp", "x@DoCoMo.NE.jp", "x@sub.ezweb.ne.jp", "x@i.softbank.ne.jp."],
)
def test_carrier_domain_and_subdomains_need_jis(addr: str) -> None:
    assert needs_jis(addr, CARRIERS)


@pytest.mark.parametrize(
    "addr",
    ["x@notdocomo.ne.jp", "x@docomo.ne.jp.evil.example", "x@gmail.com", "docomo.ne.jp", ""],
)
def test_other_domains_do_not_need_jis(addr: str) -> None:
    assert not needs_jis(addr, CARRIERS)


def test_carrier_list_entries_may_be_written_with_at_or_wildcard() -> None:
    assert needs_jis("x@au.com", ["@au.com"])
    assert needs_jis("x@a.au.com", ["*.au.com"])


@pytest.mark.parametrize("text", ["髙橋", "山﨑", "𠮷田", "José", "🌸", "한국"])
def test_jis_loses_what_only_a_geta_or_a_lost_accent_could_stand_for(text: str) -> None:
    assert jis_loses(text)
    assert jis_safe(text) != text


@pytest.mark.parametrize("text", ["山田 太郎", "①㈱ｶﾞｯﾂ～", "か\u3099", "1\ufe0f\u20e3", "\u200b", "abc\n"])
def test_jis_loses_nothing_where_a_readable_equivalent_exists(text: str) -> None:
    assert not jis_loses(text)


def test_every_kanji_substitute_is_missing_from_jis_and_its_standard_form_is_there() -> None:
    for variant, standard in KANJI_SUBSTITUTES.items():
        assert jis_loses(variant) and _roundtrips(standard), (variant, standard)
