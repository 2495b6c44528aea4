"""A running `mailgate serve` never stalls: a mail that takes long to read, connections that never
finish, and a process short of file descriptors leave SMTP and the link pages answering."""

from __future__ import annotations

import resource
import smtplib
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import start_serve, wait_for, write_config
from tests.e2e.helpers import cli
from tests.e2e.test_full_disk import StderrLines
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


def _limited_shop(tmp_path: Path, smtp: str = "", web: str = "") -> Path:
    return write_config(tmp_path, f"[smtp]\n{smtp}\n[web]\n{web}\n")


def _half_open(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_SECONDS)
    s.sendall(b"GET / HTTP/1.1\r\nHost: shop.example\r\n")  # and never the rest
    return s


def _answer_until_closed(s: socket.socket) -> bytes:
    got = b""
    while chunk := s.recv(4096):
        got += chunk
    return got


def test_half_open_requests_are_closed_and_smtp_answers_under_a_low_descriptor_limit(tmp_path: Path) -> None:
    few_descriptors = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))  # noqa: E731
    served = start_serve(_limited_shop(tmp_path, web="request_seconds = 2"), preexec_fn=few_descriptors)
    log = StderrLines(served)
    held = [_half_open(served.http_port) for _ in range(200)]  # more than the process may open
    try:
        # The pages' connections are full, SMTP's are not: a mail is taken meanwhile.
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=ANSWER_SECONDS) as s:
            s.sendmail("d@example.jp", ["signup@shop.example"], "From: d@example.jp\r\n\r\n \r\n")
        # Every request that never finished is answered and closed: refused at once, or timed out.
        answers = [_answer_until_closed(s) for s in held]
        assert all(a.startswith((b"HTTP/1.1 408", b"HTTP/1.1 503")) for a in answers)
        with urllib.request.urlopen(f"{served.base_url}/healthz", timeout=ANSWER_SECONDS) as page:
            assert page.status == 200
        assert "smtp 48 connections (50 per client), web 48 (50 per client), 160 descriptors" in served.banner
        assert sum("accept" in line for line in log.lines) <= 1
    finally:
        for s in held:
            s.close()
        served.stop()


def test_a_client_over_its_connection_limit_is_refused_on_smtp_and_http(tmp_path: Path) -> None:
    per_client = "max_connections_per_client = 3"
    served = start_serve(_limited_shop(tmp_path, smtp=per_client, web=per_client))
    smtp = [smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=ANSWER_SECONDS) for _ in range(3)]
    web = [_half_open(served.http_port) for _ in range(3)]
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=ANSWER_SECONDS)
        assert refused.value.smtp_code == 421
        assert b"too many connections from 127.0.0.1" in refused.value.smtp_error
        with pytest.raises(urllib.error.HTTPError) as busy:
            urllib.request.urlopen(f"{served.base_url}/healthz", timeout=ANSWER_SECONDS)
        assert busy.value.code == 503
        smtp.pop().quit()  # one goes: another may come
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=ANSWER_SECONDS) as s:
            assert s.noop()[0] == 250
    finally:
        for c in smtp:
            c.close()
        for w in web:
            w.close()
        served.stop()
