"""Every pattern mail/ runs on mail text takes time linear in it: each one gets a long input aimed at
where a backtracking engine would rescan, run under a CPU-limit hang guard (tests/hang_guard.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mailgate.mail.addresses import extract_addresses, quote_local_part
from mailgate.mail.blank import meaningful_text
from mailgate.mail.charsets import decode_bytes
from mailgate.mail.compose import Outgoing, compose
from mailgate.mail.headers import decode_header_value
from mailgate.mail.parse import MAX_SUBJECT, MAX_TEXT, html_to_text, parse
from tests.hang_guard import finishes

N = 100_000


def _mail(**headers: str) -> bytes:
    head = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\nbody\r\n").encode("utf-8", "surrogateescape")


def _reply_to(addr: str, name: str) -> None:
    out = Outgoing(to=addr, subject=name, body="x", from_addr="signup@shop.example", from_name=name)
    compose(out, carrier_domains=[], now=datetime(2026, 12, 1, tzinfo=UTC))


CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    # blank.py: the 48,000-dash blank mail that froze serve for 80 s, and its neighbours
    ("blank: a forward marker's dash run with no phrase", meaningful_text, ("-" * N + "x",)),
    ("blank: a rule of '=' before text", meaningful_text, ("=" * N + " original",)),
    ("blank: a signature rule then spaces", meaningful_text, ("-" * N + " " * N + "x",)),
    ("blank: a quote mark after spaces", meaningful_text, (" " * N + "x",)),
    ("blank: 'wrote:' then spaces", meaningful_text, ("wrote:" + " " * N + "x",)),
    ("blank: many 'wrote:'", meaningful_text, ("wrote: " * (N // 7),)),
    ("blank: a long footer-like line", meaningful_text, ("sent from " * (N // 10),)),
    # html.py: tags that never close, Python 3.11's html.parser rescans them to the end
    ("html: '<a' repeated", html_to_text, ("<a" * N,)),
    ("html: one tag name without '>'", html_to_text, ("<" + "R" * N + "z:",)),
    ("html: unclosed quoted values", html_to_text, ('<a b="' * (N // 6),)),
    ("html: unclosed comments", html_to_text, ("<!--x>" * (N // 6),)),
    ("html: declarations without '>'", html_to_text, ("<!" * N,)),
    ("html: scripts that never end", html_to_text, ("<script>" * (N // 8),)),
    ("html: end tags without '>'", html_to_text, ("</" * N,)),
    # parse.py and headers.py: ids, dates, encoded words, folded headers
    ("parse: Message-ID of '<'", parse, (_mail(Message_ID="<" * N),)),
    ("parse: References of '<' and spaces", parse, (_mail(References="< " * N),)),
    ("parse: Date of 'JST' and spaces", parse, (_mail(Date="JST " * (N // 4) + "x"),)),
    ("parse: HTML with a meta charset run", parse, (_mail(Content_Type="text/html") + b"<meta " * N,)),
    ("headers: '=?' repeated", decode_header_value, ("=?" * N,)),
    ("headers: encoded words never closed", decode_header_value, ("=?utf-8?b?" * (N // 10),)),
    ("headers: Q words of '='", decode_header_value, ("=?utf-8?q?" + "=" * N + "?=",)),
    ("headers: raw 8-bit bytes", decode_header_value, ("\udce3" * N,)),
    # addresses.py: address lists with quotes, comments and brackets left open
    ("addresses: open quotes", extract_addresses, ('"' + '\\"' * N,)),
    ("addresses: open comments", extract_addresses, ("(" * N,)),
    ("addresses: '@' repeated", extract_addresses, ("@" * N,)),
    ("addresses: many elements", extract_addresses, ("a@b, " * (N // 5),)),
    ("addresses: a local part of dots", quote_local_part, ("." * N + "@x",)),
    ("charsets: JIS escape sequences", decode_bytes, (b"\x1b$B" * N, None)),
    ("charsets: undeclared 8-bit text", decode_bytes, (b"\xe3\x81" * N, None)),
    # compose.py: a reply to the address and name a mail gave
    ("compose: a local part of atext and dots", _reply_to, ("a." * N + "@x.example", "x")),
    ("compose: a quoted local part", _reply_to, ('"' + "\\a" * N + '"@x.example', "x")),
    ("compose: a display name of atoms", _reply_to, ("a@x.example", "ab " * N)),
]


@pytest.mark.parametrize(("fn", "args"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mail_text_is_read_in_linear_time(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    assert finishes(fn, *args)


def test_the_body_text_and_subject_the_rules_see_are_bounded() -> None:
    raw = _mail(Subject="件名" * N) + ("本文" * N).encode()
    mail = parse(raw)
    assert len(mail.subject) == MAX_SUBJECT
    assert len(mail.text) == MAX_TEXT and mail.text.startswith("body\n本文")
