"""A running `mailgate serve` never stalls: a mail that takes long to read, connections that never
finish, and a process short of file descriptors leave SMTP and the link pages answering."""

from __future__ import annotations

import smtplib
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import start_serve, wait_for
from tests.e2e.helpers import cli
from tests.pipeline.test_isolated import slow_shop

pytestmark = pytest.mark.e2e  # starts real servers

# Hang guards, not stopwatches: an answering server replies in milliseconds.
ANSWER_SECONDS = 30


def _state(config: Path, subject: str) -> str | None:
    found = [m for m in cli(config, "messages") if m["subject"] == subject]
    return found[0]["state"] if found else None


def test_a_mail_that_takes_long_to_read_stops_neither_smtp_nor_the_pages(tmp_path: Path) -> None:
    served = start_serve(slow_shop(tmp_path, seconds=3))
    try:
        slow = "a" * 80 + "b"  # the shop's own rule backtracks exponentially on it
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=ANSWER_SECONDS) as s:
            s.sendmail("c@example.jp", ["notices@shop.example"], f"Subject: {slow}\r\n\r\nx\r\n")
        wait_for(lambda: _state(served.config, slow) == "processing")
        # While it is being read, the pages answer and another mail is taken and answered.
        with urllib.request.urlopen(f"{served.base_url}/healthz", timeout=ANSWER_SECONDS) as page:
            assert page.status == 200
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=ANSWER_SECONDS) as s:
            blank = "From: d@example.jp\r\nSubject: blank\r\n\r\n \r\n"
            s.sendmail("d@example.jp", ["signup@shop.example"], blank)
        wait_for(lambda: _state(served.config, slow) == "failed", timeout=120)
        wait_for(lambda: _state(served.config, "blank") == "applied", timeout=60)
    finally:
        served.stop()
