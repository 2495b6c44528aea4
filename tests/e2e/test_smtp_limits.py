"""What one SMTP client may do, the original client counted where a configured front MTA names it
(XCLIENT, XFORWARD): recipients in a message (once each, whatever their case), messages in one
connection and in a minute, refused recipients in a connection, connections."""

from __future__ import annotations

import itertools
import smtplib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Served, start_serve, write_config
from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e  # starts real servers

BLANK = b"From: a@example.jp\r\nSubject: hi\r\n\r\n \r\n"
Start = Callable[[str], Served]


@pytest.fixture
def serve_with(tmp_path: Path) -> Iterator[Start]:
    """serve with these [smtp] settings, stopped after the test."""
    started: list[Served] = []

    def start(smtp: str) -> Served:
        started.append(start_serve(write_config(tmp_path, f"[smtp]\n{smtp}\n")))
        return started[-1]

    yield start
    for served in started:
        served.stop()


def _smtp(served: Served) -> smtplib.SMTP:
    s = smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30)
    s.ehlo()
    return s


def test_recipients_count_once_whatever_their_case_and_at_most_max_recipients(serve_with: Start) -> None:
    served = serve_with("max_recipients = 3")
    with _smtp(served) as s:
        assert s.mail("a@example.jp")[0] == 250
        cases = ("".join(c) for c in itertools.product(*((ch, ch.upper()) for ch in "signup")))
        assert {s.rcpt(f"{local}@Shop.Example")[0] for local in cases} == {250}  # 64 spellings
        assert s.rcpt("notices@shop.example")[0] == 250
        assert s.rcpt("POSTMASTER@shop.example")[0] == 250
        assert s.rcpt("abuse@shop.example") == (452, b"4.5.3 Error: too many recipients")
        assert s.data(BLANK)[0] == 250
    rcpts = sorted(m["rcpt"] for m in cli(served.config, "messages"))
    assert rcpts == ["POSTMASTER@shop.example", "notices@shop.example", "signup@Shop.Example"]


def test_a_client_guessing_addresses_is_cut_off_after_max_refused_recipients(serve_with: Start) -> None:
    """Postfix's smtpd_hard_error_limit: thousands of refused RCPTs in one connection would be a free
    address probe; past the limit a 421 ends the connection. Another connection is served."""
    served = serve_with("max_refused_recipients = 5")
    with _smtp(served) as s:
        assert s.mail("a@example.jp")[0] == 250
        assert s.rcpt("signup@shop.example")[0] == 250  # an accepted one never counts
        refused = [s.rcpt(f"guess{n}@shop.example")[0] for n in range(4)] + [s.rcpt("x@elsewhere.jp")[0]]
        assert refused == [550, 550, 550, 550, 421]
        with pytest.raises(smtplib.SMTPServerDisconnected):
            s.rcpt("guess5@shop.example")
    with _smtp(served) as s:
        s.sendmail("a@example.jp", ["signup@shop.example"], BLANK)
    assert [m["rcpt"] for m in cli(served.config, "messages")] == ["signup@shop.example"]


def test_messages_are_limited_per_connection_and_per_client_and_minute(serve_with: Start) -> None:
    served = serve_with("max_messages_per_connection = 2\nmax_messages_per_client_minute = 3")
    with _smtp(served) as s:
        for _ in range(2):
            s.sendmail("a@example.jp", ["signup@shop.example"], BLANK)
        code, text = s.mail("a@example.jp")
        assert code == 421 and b"too many messages in one connection" in text
    with _smtp(served) as s:
        s.sendmail("a@example.jp", ["signup@shop.example"], BLANK)  # the third this minute
        code, text = s.mail("a@example.jp")
        assert (code, text) == (450, b"4.7.1 Error: too much mail from 127.0.0.1; try again later")


def test_a_front_mta_names_the_client_each_limit_counts(serve_with: Start) -> None:
    served = serve_with(
        'front_mtas = ["127.0.0.1"]\nmax_messages_per_client_minute = 2\nmax_connections_per_client = 2'
    )
    with _smtp(served) as s:
        assert s.has_extn("xforward") and s.has_extn("xclient")
        sent = []
        for client in ("192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2"):
            assert s.docmd("XFORWARD", f"ADDR={client} NAME=[UNAVAILABLE] PROTO=ESMTP")[0] == 250
            sent.append(s.mail("a@example.jp")[0])
            s.rset()
        assert sent == [250, 250, 450, 250]  # the front MTA's own connection is not the client
    # XCLIENT: the connection is the named client's, and counts as one of its connections.
    front = [_smtp(served) for _ in range(3)]  # the front MTA itself may hold more than 2
    answers = [c.docmd("XCLIENT", "ADDR=IPV6:2001:db8::7 HELO=mx.example")[0] for c in front]
    assert answers == [220, 220, 421]
    for c in front:
        c.close()


def test_only_a_configured_front_mta_may_name_another_client(served: Served) -> None:
    with _smtp(served) as s:
        assert not s.has_extn("xforward") and not s.has_extn("xclient")
        assert s.docmd("XFORWARD", "ADDR=192.0.2.1") == (550, b"5.7.0 Error: insufficient authorization")
        assert s.docmd("XCLIENT", "ADDR=192.0.2.1") == (550, b"5.7.0 Error: insufficient authorization")
