"""Log lines never carry a whole phone number, however the mail wrote it."""

import pytest

from mailgate import normalize
from mailgate.normalize import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "customer: not a valid phone number '090-0000-0000'",
            "customer: not a valid phone number '090******00'",
        ),
        ("09012345678@docomo.ne.jp", "090******78@docomo.ne.jp"),
        ("０９０－１２３４－５６７８", "090******78"),
        ("03(1234)5678", "031*****78"),
        ("+81 90 1234 5678", "819*******78"),
    ],
)
def test_phone_numbers_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", ["STORES 123456789 booked as 1", "2026-12-03T13:00:00+09:00", "BE64275292"])
def test_reservation_numbers_and_times_are_left_alone(text: str) -> None:
    assert redact(text) == text


# --- names: what a person types is stored as they see it, never with invisible controls ---------------


@pytest.mark.parametrize(
    "typed",
    [
        "山田\x00太郎",  # NUL: cut strings short in C tools and PostgreSQL refuses it in text
        "山田\u202e郎太",  # RIGHT-TO-LEFT OVERRIDE: shows "山田太郎" reversed in listings and mail
        "\u2066山田太郎\u2069",  # isolates
        "山田\x1b[31m太郎",  # an escape sequence for the operator's terminal
        "山田\ue000太郎",  # private use: shows as a box or someone's custom glyph
    ],
)
def test_names_with_control_or_direction_characters_are_refused(typed: str) -> None:
    with pytest.raises(normalize.NormalizeError, match="使えない文字"):
        normalize.name(typed)


@pytest.mark.parametrize("typed", ["山田\u200b太郎", "\ufeff山田太郎", "山田\u00ad太郎", "山田\u2060太郎"])
def test_invisible_characters_a_paste_brings_are_dropped(typed: str) -> None:
    assert normalize.name(typed) == "山田太郎"


def test_ideographic_variation_selectors_are_kept() -> None:
    # 葛󠄀 (U+845B U+E0100) is how some people's registered name is written: part of the name.
    assert normalize.name("葛\U000e0100城 太郎") == "葛\U000e0100城太郎"
