"""Real mail that breaks the rules is taken as it came, the same on SQLite and PostgreSQL: lines over
1,000 bytes (Postfix takes them too), bare LF line ends as in other projects' test mail, NUL bytes in
From and Message-ID. What cannot be taken is refused for good, with the reason, never 451 forever."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailgate import config
from mailgate.context import Context
from mailgate.inbound import spool
from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e  # starts real servers

FINAL = ("applied", "held", "ignored", "failed")

# As mail files of other projects' test suites are written: bare LF line ends, a References header
# of 40 ids on one line, an HTML part whose markup is one 4,000-byte line.
BARE_LF = (
    b"From: Barry Warsaw <barry@python.example>\n"
    b"To: signup@shop.example\n"
    b"Subject: An HTML message with long lines\n"
    b"Message-ID: <long-lines@python.example>\n"
    b"References: " + b" ".join(b"<id%02d.0123456789abcdef@python.example>" % i for i in range(40)) + b"\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/alternative; boundary="BOUNDARY"\n'
    b"\n"
    b"--BOUNDARY\n"
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"\n"
    b"Hello\n"
    b"\n"
    b"--BOUNDARY\n"
    b"Content-Type: text/html; charset=us-ascii\n"
    b"\n"
    b"<html><body>" + b"<p>Hello, world. This line goes on and on.</p>" * 90 + b"</body></html>\n"
    b"--BOUNDARY--\n"
)


def _send_raw(port: int, raw: bytes) -> bytes:
    """A whole SMTP transaction over a socket, the message bytes as they are (smtplib would make
    every LF a CRLF); the answer to the message."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rb")

        def answer() -> bytes:
            line = f.readline()
            while line[3:4] == b"-":
                line = f.readline()
            return line

        answer()
        for command in (b"EHLO t.example", b"MAIL FROM:<b@python.example>", b"RCPT TO:<signup@shop.example>"):
            s.sendall(command + b"\r\n")
            assert answer().startswith(b"250")
        s.sendall(b"DATA\r\n")
        assert answer().startswith(b"354")
        s.sendall(raw + b"\r\n.\r\n")
        return answer()


def test_lines_over_1000_bytes_and_bare_lf_line_ends_are_taken_as_they_came(served: Served) -> None:
    assert max(len(line) for line in BARE_LF.split(b"\n")) > 4000
    assert _send_raw(served.smtp_port, BARE_LF).startswith(b"250 ")
    crlf = b"From: a@example.jp\r\nSubject: base64 in one line\r\n\r\n" + b"QUJD" * 2500 + b"\r\n"
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as s:
        s.sendmail("a@example.jp", ["signup@shop.example"], crlf)
    stored = {m["subject"]: m for m in cli(served.config, "messages")}
    ctx = Context.build(config.load(served.config), read_only=True)
    kept = spool.read(ctx.engine, ctx.cfg.spool_dir, stored["An HTML message with long lines"]["spool_path"])
    assert kept == BARE_LF + b"\r\n"
    assert spool.read(ctx.engine, ctx.cfg.spool_dir, stored["base64 in one line"]["spool_path"]) == crlf


@pytest.fixture
def served_on(tmp_path: Path, db_url: str) -> Iterator[Served]:
    """serve on SQLite and on PostgreSQL."""
    s = start_serve(write_config(tmp_path / "shop", db_url=db_url))
    yield s
    s.stop()


def test_nul_bytes_in_from_and_message_id_are_stored_as_sqlite_stores_them(served_on: Served) -> None:
    raw = b"From: a\x00b@example.jp\r\nMessage-ID: <x\x00y@example.jp>\r\nSubject: nul\r\n\r\n \r\n"
    with smtplib.SMTP("127.0.0.1", served_on.smtp_port, timeout=30) as s:
        s.sendmail("a@example.jp", ["signup@shop.example"], raw)
    [stored] = cli(served_on.config, "messages")
    assert stored["from_addr"] == "a\ufffdb@example.jp"
    assert stored["header_message_id"] == "x\ufffdy@example.jp"
    wait_for(lambda: cli(served_on.config, "messages")[0]["state"] in FINAL)


def test_a_sender_address_no_database_may_keep_is_refused_for_good(served_on: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served_on.smtp_port, timeout=30) as s:
        s.ehlo()
        code, text = s.mail("a" * 310 + "@example.jp")  # 321 characters
        assert (code, text) == (501, b"5.1.7 Bad sender address: longer than 320 characters")
        code, text = s.docmd("MAIL", "FROM:<a\x00b@example.jp>")
        assert (code, text) == (501, b"5.1.7 Bad sender address: control characters")
        assert s.mail("a" * 309 + "@example.jp")[0] == 250  # 320 characters: stored on both
        assert s.rcpt("signup@shop.example")[0] == 250
        assert s.data(b"From: a@example.jp\r\nSubject: long\r\n\r\n \r\n")[0] == 250
    [stored] = cli(served_on.config, "messages")
    assert stored["mail_from"] == "a" * 309 + "@example.jp"
