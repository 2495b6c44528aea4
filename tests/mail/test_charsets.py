"""Decoding of Japanese bodies, including the vendor extensions Python's codecs lose."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.mail.charsets import decode_bytes

ESC_KANJI = b"\x1b$B"
ESC_ASCII = b"\x1b(B"
# JIS X 0208 codes written out by hand: NEC row 13 and an NEC-selected IBM kanji.
JIS_CIRCLED_ONE = b"\x2d\x21"  # ①
JIS_KABUSHIKI = b"\x2d\x6a"  # ㈱
JIS_TAKA = b"\x7c\x62"  # 髙 (hashigo-daka)
JIS_YOYAKU = b"\x4d\x3d\x4c\x73"  # 予約

SJIS_ALIASES = ["shift_jis", "Shift_JIS", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j", "CP932"]
ISO2022_ALIASES = [
    "iso-2022-jp",
    "ISO-2022-JP",
    "iso-2022-jp-ext",
    "iso-2022-jp-2",
    "cp50220",
    "CP50221",
    "cp50222",
]


# --- Shift_JIS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("label", SJIS_ALIASES)
def test_shift_jis_aliases_keep_nec_and_ibm_characters(label: str) -> None:
    data = "予約①㈱髙".encode("cp932")
    assert decode_bytes(data, label) == "予約①㈱髙"


def test_docomo_emoji_bytes_decode_to_private_use_area() -> None:
    # 0xF89F is docomo's sun; cp932 maps the user-defined area to U+E000.. so it maps to U+E63E.
    assert decode_bytes(b"\x82\xe6\xf8\x9f", "Shift_JIS") == "よ\ue63e"


def test_shift_jis_last_user_defined_code_decodes_without_error() -> None:
    assert decode_bytes(b"\xf9\xfc", "shift_jis") == "\ue757"


def test_utf8_labelled_shift_jis_is_read_as_utf8() -> None:
    assert decode_bytes("予約します".encode(), "Shift_JIS") == "予約します"


def test_truncated_shift_jis_falls_back_without_raising() -> None:
    text = decode_bytes("予約".encode("cp932") + b"\x82", "shift_jis")
    assert text.startswith("予約")


# --- ISO-2022-JP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ISO2022_ALIASES)
def test_iso2022jp_keeps_nec_row13_and_ibm_kanji(label: str) -> None:
    data = ESC_KANJI + JIS_YOYAKU + JIS_CIRCLED_ONE + JIS_KABUSHIKI + JIS_TAKA + ESC_ASCII + b" ok"
    assert decode_bytes(data, label) == "予約①㈱髙 ok"


def test_iso2022jp_circled_digit_is_what_pythons_codec_loses() -> None:
    data = ESC_KANJI + JIS_CIRCLED_ONE + ESC_ASCII
    assert "①" not in data.decode("iso2022_jp", "replace")  # the reason this module exists
    assert decode_bytes(data, "ISO-2022-JP") == "①"


def test_iso2022jp_old_jis_c_6226_escape_is_accepted() -> None:
    assert decode_bytes(b"\x1b$@" + JIS_YOYAKU + b"\x1b(J abc", "iso-2022-jp") == "予約 abc"


def test_iso2022jp_1990_announcer_is_consumed() -> None:
    assert decode_bytes(b"\x1b&@\x1b$B" + JIS_YOYAKU + ESC_ASCII, "iso-2022-jp") == "予約"


def test_iso2022jp_half_width_katakana_escape() -> None:
    assert decode_bytes(b"\x1b(I12\x1b(Bx", "iso-2022-jp") == "ｱｲx"


def test_iso2022jp_shift_out_shift_in_katakana() -> None:
    assert decode_bytes(b"a\x0e12\x0fb", "cp50222") == "aｱｲb"


def test_iso2022jp_jis_x_0212_segment_uses_python_codec() -> None:
    assert decode_bytes(b"\x1b$(D0!\x1b(B", "iso-2022-jp-2") == "丂"


def test_iso2022jp_user_defined_rows_decode_to_private_use_area() -> None:
    assert decode_bytes(ESC_KANJI + b"\x75\x21" + ESC_ASCII, "iso-2022-jp") == "\ue000"


def test_iso2022jp_multiline_body_keeps_newlines() -> None:
    data = ESC_KANJI + JIS_YOYAKU + ESC_ASCII + b"\r\n" + ESC_KANJI + JIS_CIRCLED_ONE + ESC_ASCII + b"\r\n"
    assert decode_bytes(data, "ISO-2022-JP") == "予約\r\n①\r\n"


def test_iso2022jp_unterminated_kanji_run_still_decodes() -> None:
    # Some encoders never switch back to ASCII before the line break.
    assert decode_bytes(ESC_KANJI + JIS_YOYAKU + b"\n" + JIS_CIRCLED_ONE, "iso-2022-jp") == "予約\n①"


def test_shift_jis_bytes_labelled_iso2022jp_are_recovered() -> None:
    assert decode_bytes("予約①".encode("cp932"), "ISO-2022-JP") == "予約①"


def test_utf8_bytes_labelled_iso2022jp_are_recovered() -> None:
    assert decode_bytes("予約①".encode(), "iso-2022-jp") == "予約①"


def test_iso2022jp_odd_trailing_byte_gives_replacement_not_error() -> None:
    assert decode_bytes(ESC_KANJI + b"\x4d", "iso-2022-jp") == "\ufffd"


# --- EUC-JP --------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["euc-jp", "EUC-JP", "x-euc-jp", "eucjp-ms"])
def test_euc_jp_labels_decode(label: str) -> None:
    assert decode_bytes("予約します".encode("euc_jp"), label) == "予約します"


def test_euc_jp_nec_row13_circled_digit() -> None:
    assert decode_bytes(b"\xad\xa1", "euc-jp") == "①"


def test_euc_jp_half_width_katakana() -> None:
    assert decode_bytes(b"\x8e\xb1\x8e\xb2", "euc-jp") == "ｱｲ"


def test_euc_jp_jis_x_0212_via_python_codec() -> None:
    assert decode_bytes(b"\xa4\xa2\x8f\xb0\xa1", "euc-jp") == "あ丂"


# --- UTF-8, ASCII, unknown -----------------------------------------------------------------------


def test_utf8_bom_is_dropped() -> None:
    assert decode_bytes(b"\xef\xbb\xbfcoco", "utf-8") == "coco"


def test_us_ascii_label_with_utf8_bytes_reads_utf8() -> None:
    assert decode_bytes("予約".encode(), "us-ascii") == "予約"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("予約①します".encode(), "予約①します"),
        ("予約①します".encode("cp932"), "予約①します"),
        ("よやくします、おねがいします".encode("euc_jp"), "よやくします、おねがいします"),
        (ESC_KANJI + JIS_YOYAKU + JIS_CIRCLED_ONE + ESC_ASCII, "予約①"),
        ("café".encode("latin-1"), "café"),
        (b"", ""),
    ],
    ids=["utf8", "cp932", "euc", "iso2022", "latin1", "empty"],
)
@pytest.mark.parametrize("label", [None, "", "x-unknown-charset", "unknown-8bit"])
def test_missing_or_unknown_charset_is_guessed(data: bytes, expected: str, label: str | None) -> None:
    assert decode_bytes(data, label) == expected


def test_declared_non_japanese_charset_is_used() -> None:
    assert decode_bytes("привет".encode("koi8-r"), "koi8-r") == "привет"


def test_shift_jis_labelled_latin1_is_recognised_as_japanese() -> None:
    assert decode_bytes("予約をお願いします".encode("cp932"), "iso-8859-1") == "予約をお願いします"


def test_real_latin1_stays_latin1() -> None:
    assert decode_bytes("Bonjour, café crème".encode("latin-1"), "iso-8859-1") == "Bonjour, café crème"


def test_jis_roman_backslash_is_yen_and_tilde_stays() -> None:
    assert decode_bytes(b"\x1b(J\\6,700 10:00~11:00\x1b(B", "iso-2022-jp") == "¥6,700 10:00~11:00"


def _round_trips(codec: str):  # type: ignore[no-untyped-def]
    def check(ch: str) -> bool:
        try:
            return ch.encode(codec).decode(codec) == ch
        except UnicodeError:
            return False

    return st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFFEF).filter(check), min_size=1, max_size=12
    )


# cp932 maps these JIS codes to the full-width forms Windows users see; Python's JIS codecs do not.
_CP932_FORMS = str.maketrans({"〜": "～", "‖": "∥", "−": "－", "¢": "￠", "£": "￡", "¬": "￢"})


@settings(max_examples=300)
@given(_round_trips("cp932"))
def test_any_cp932_text_survives_shift_jis_label(text: str) -> None:
    assert decode_bytes(text.encode("cp932"), "Shift_JIS") == text


@settings(max_examples=300)
@given(_round_trips("iso2022_jp").filter(lambda t: "‾" not in t))
def test_any_jis_x_0208_text_survives_iso2022jp(text: str) -> None:
    assert decode_bytes(text.encode("iso2022_jp"), "ISO-2022-JP") == text.translate(_CP932_FORMS)


@settings(max_examples=300)
@given(_round_trips("euc_jp"))
def test_any_euc_jp_text_survives(text: str) -> None:
    data = text.encode("euc_jp")
    expected = text if b"\x8f" in data else text.translate(_CP932_FORMS)  # 0x8F: JIS X 0212 via Python
    assert decode_bytes(data, "euc-jp") == expected


_LABELS = [
    None,
    "",
    "utf-8",
    "shift_jis",
    "iso-2022-jp",
    "euc-jp",
    "iso-8859-1",
    "rot13",
    "hex",
    "idna",
    "utf-16",
]


@given(st.binary(max_size=200), st.sampled_from([*_LABELS, "zzz", "\x00"]))
def test_decode_bytes_never_raises_and_gives_encodable_text(data: bytes, charset: str | None) -> None:
    # Lone surrogates would blow up later, when the text is stored or sent.
    decode_bytes(data, charset).encode("utf-8")


@given(st.binary(max_size=120).map(lambda b: b"\x1b$B" + b + b"\x1b(B\x1b(I\x0e"))
def test_iso2022_decoder_leaves_no_escape_characters(data: bytes) -> None:
    assert "\x1b" not in decode_bytes(data, "iso-2022-jp")
