"""What SMTP refuses and how: never an open relay, size limits, and 451 (not 5xx) for our own failure."""

from __future__ import annotations

import resource
import smtplib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import start_serve, write_config
from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e  # starts real servers


def test_a_foreign_domain_is_refused_with_550_5_7_1(served) -> None:  # type: ignore[no-untyped-def]
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
        s.ehlo()
        s.mail("a@example.jp")
        code, text = s.rcpt("victim@elsewhere.example")
        assert code == 550 and b"5.7.1" in text
        code, text = s.rcpt("nobody@shop.example")
        assert code == 550 and b"5.1.1" in text
        assert s.rcpt("signup@shop.example")[0] == 250


def test_mail_over_the_size_limit_is_refused_with_552(tmp_path: Path) -> None:
    served = start_serve(_sized_config(tmp_path, 2000))
    try:
        big = b"From: a@example.jp\r\nTo: signup@shop.example\r\n\r\n" + (b"x" * 70 + b"\r\n") * 100
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
            # A client that declares SIZE is refused at MAIL FROM ...
            with pytest.raises(smtplib.SMTPSenderRefused) as declared:
                s.sendmail("a@example.jp", ["signup@shop.example"], big)
            assert declared.value.smtp_code == 552
            s.rset()
            # ... one that does not is refused after DATA, and nothing is kept.
            s.mail("a@example.jp")
            assert s.rcpt("signup@shop.example")[0] == 250
            code, _ = s.data(big)
            assert code == 552
        assert cli(served.config, "messages") == []
        assert raw_messages(tmp_path) == 0
    finally:
        served.stop()


def raw_messages(tmp_path: Path) -> int:
    """Raw messages kept in the shop's SQLite database."""
    with closing(sqlite3.connect(tmp_path / "var" / "mailgate.db")) as db:
        return int(db.execute("SELECT count(*) FROM rawmessage").fetchone()[0])


def _sized_config(tmp_path: Path, max_size: int) -> Path:
    path = write_config(tmp_path)
    text = path.read_text().replace(
        'notices = "notices@shop.example"', f'notices = "notices@shop.example"\nmax_size = {max_size}'
    )
    path.write_text(text)
    return path


def test_a_spool_without_room_for_the_largest_mail_refuses_mail_at_mail_from_with_452(tmp_path: Path) -> None:
    # As Postfix does: room for one and a half of the largest mail, or 452 before any data is sent.
    # No disk has room for one and a half petabytes (tests/e2e/test_full_disk.py fills a real one).
    path = _sized_config(tmp_path, 10**15)
    served = start_serve(path)
    try:
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
            s.ehlo()
            assert s.mail("a@example.jp") == (452, b"4.3.1 Insufficient system storage")
        assert "mail is refused (452) until there is room" in served.banner
        assert cli(served.config, "messages") == []
    finally:
        served.stop()


def test_a_write_of_the_mail_that_fails_answers_451_and_stores_nothing_half(tmp_path: Path) -> None:
    # The kernel's file size limit fails the database write itself (EFBIG), after MAIL FROM was taken.
    limit_fsize = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # noqa: E731
    served = start_serve(write_config(tmp_path), preexec_fn=limit_fsize)
    try:
        head = b"From: a@example.jp\r\nTo: signup@shop.example\r\nMessage-ID: <big@x>\r\n\r\n"
        raw = head + (b"y" * 78 + b"\r\n") * 5000  # 400 kB: more than one file may hold
        with (
            smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s,
            pytest.raises(smtplib.SMTPDataError) as e,
        ):
            s.sendmail("a@example.jp", ["signup@shop.example"], raw)
        assert e.value.smtp_code == 451
        assert cli(served.config, "messages") == []
        assert raw_messages(tmp_path) == 0, "nothing of it is left"
        # A small message still fits and is accepted: the server did not wedge.
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
            s.sendmail(
                "a@example.jp", ["signup@shop.example"], b"From: a@example.jp\r\nSubject: s\r\n\r\nhi\r\n"
            )
        assert raw_messages(tmp_path) == 1
    finally:
        served.stop()
