"""What mailgate's commands write to the log: addresses masked whoever logs them."""

from __future__ import annotations

import logging
import sys
import time

from mailgate.cli.common import LOG_FORMAT, MaskedAddresses


def line(msg: str, *args: object, exc: bool = False, created: float | None = None) -> str:
    record = logging.LogRecord("mail.log", logging.INFO, __file__, 1, msg, args, None)
    if exc:
        try:
            raise ValueError("not an email address: '09012345678@docomo.ne.jp\\n'")
        except ValueError:
            record.exc_info = sys.exc_info()
    if created is not None:
        record.created, record.msecs = created, 0
    return MaskedAddresses(LOG_FORMAT).format(record)


def test_an_address_in_a_message_argument_is_masked() -> None:
    text = line("%r >> %r", ("127.0.0.1", 4321), b"MAIL FROM:<09012345678@docomo.ne.jp> SIZE=232")
    assert "09012345678" not in text and "MAIL FROM:<090******78@docomo.ne.jp>" in text


def test_quoted_and_hyphenated_phone_addresses_are_masked() -> None:
    text = line("sender: %s, recip: %s", '"090-1234-5678"@ezweb.ne.jp', "+819012345678@example.jp")
    assert 'sender: "090******78"@ezweb.ne.jp, recip: 819*******78@example.jp' in text


def test_an_address_in_a_traceback_is_masked() -> None:
    text = line("could not store mail", exc=True)
    assert "Traceback" in text and "09012345678" not in text and "090******78@docomo.ne.jp" in text


def test_numbers_that_are_not_in_an_address_and_the_time_stamp_are_left_alone() -> None:
    created = time.mktime((2026, 1, 2, 10, 0, 0, 0, 0, -1))
    text = line("outbox=%s until 2026-01-02 10:00:00 +0900", 1012345678, created=created)
    assert text.startswith("2026-01-02 10:00:00,000 INFO mail.log: outbox=1012345678 until 2026-01-02 10:00")
