"""Every pattern authn/ runs on a mail takes time linear in it: pasted forwards, the dates mail
clients print, DKIM tags and MIME structure get long inputs aimed at where a backtracking engine
would rescan, under a CPU-limit hang guard (tests/hang_guard.py). DNS is a table: nothing waits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailgate.authn import check_dkim, embedded_messages, find_forwards, find_originals, loose_date
from mailgate.authn.arc import _aar_dkim_pass
from mailgate.authn.inline import Forward, forward_mail
from mailgate.authn.signatures import Resolver, _tags
from tests.hang_guard import finishes

N = 100_000


def _pasted_from(value: str) -> None:
    forward_mail(Forward("---------- Forwarded message ---------", {"from": value, "date": value}, "x\n"))


def _originals(raw: bytes) -> None:
    find_originals(raw, {})


CASES: list[tuple[str, Callable[..., Any], Any]] = [
    # inline.py: pasted forwards and their pseudo-headers
    ("inline: a forward marker's dash run", find_forwards, "-" * N + "x"),
    ("inline: a forward marker then dashes", find_forwards, "-- Forwarded message" + "-" * N + "x"),
    ("inline: spaces before a label", find_forwards, "---Original Message---\n" + " " * N + "x"),
    ("inline: quote marks", find_forwards, ">" * N),
    ("inline: an Outlook rule", find_forwards, "_" * N + "x"),
    ("inline: many markers", find_forwards, "-- Forwarded message --\nFrom: a@b\n" * (N // 36)),
    ("inline: spaces before a mailto", _pasted_from, "a" + " " * N + "x"),
    ("inline: mailto never closed", _pasted_from, "<mailto:" * (N // 8)),
    ("inline: weekdays after a date", loose_date, "2026年12月3日" + "(木)" * N),
    ("inline: spaces in a date", loose_date, "2026" + " " * N + "x"),
    ("inline: an offset and spaces", loose_date, "2026年12月3日 13:00 GMT" + " " * N + "x"),
    ("inline: English month words", loose_date, "Thu " * N),
    ("inline: day and month words", loose_date, "1 " * N),
    # signatures.py: tags and headers of DKIM and ARC
    ("signatures: tags never ending", lambda v: _tags(v), b"d=" + b";" * N),
    ("signatures: a d= tag and spaces", lambda v: _tags(v), b"\x00;" + b" " * N + b"x"),
    ("signatures: ARC results of header.d", lambda v: _aar_dkim_pass(v), b"dkim=pass header.d=" * (N // 20)),
    ("signatures: ARC results of comments", lambda v: _aar_dkim_pass(v), b"(" * N),
    (
        "signatures: an unreadable block of many signatures",
        lambda raw: check_dkim(raw, Resolver({})),
        b"\x00\r\n" + b"DKIM-Signature: v=1; d=a; s=b\r\n" * (N // 30) + b"\r\nx",
    ),
    # mime.py and originals.py: forwarded parts
    (
        "mime: parts of blank lines",
        embedded_messages,
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b" \r\n" * N,
    ),
    (
        "mime: many boundaries",
        embedded_messages,
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n" * N,
    ),
    ("originals: a long header line", _originals, b"X: " + b"a" * N + b"\r\n\r\nx"),
]


@pytest.mark.parametrize(("fn", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mail_is_examined_for_proof_in_linear_time(fn: Callable[..., Any], value: Any) -> None:
    assert finishes(fn, value)
