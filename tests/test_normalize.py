"""Log lines never carry a whole phone number, however the mail wrote it."""

import pytest

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
