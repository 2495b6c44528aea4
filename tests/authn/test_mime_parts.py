"""The delimiter scan of authn/mime.py finds exactly the parts the RFC 2046 pattern it replaced found
(hypothesis over bodies built from delimiter-like pieces), and a deeply nested multi-megabyte mail is
split in bounded CPU (a hang guard, not a timing assertion)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.authn.mime import _parts, embedded_messages
from tests.hang_guard import finishes

BOUNDARY = b"b1"
PIECES = st.sampled_from(
    [
        b"--b1",
        b"--b1--",
        b"--b",
        b"b1",
        b"-",
        b"--",
        b"\r\n",
        b"\n",
        b"\r",
        b" ",
        b"\t",
        b"x",
        b"--b1 \t",
        b"",
    ]
)


def reference(body: bytes, boundary: bytes) -> list[bytes]:
    """The pattern the scan replaced (a regex tried at every byte)."""
    delimiter = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    parts: list[bytes] = []
    start: int | None = None
    for m in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : m.start()])
        if m.group(1):
            return parts
        start = m.end()
    if start is not None:
        parts.append(body[start:])
    return parts


@settings(max_examples=3000, deadline=None)
@given(st.lists(PIECES, max_size=40))
def test_the_scan_splits_a_body_as_the_rfc_2046_pattern_does(pieces: list[bytes]) -> None:
    body = b"".join(pieces)
    assert _parts(body, BOUNDARY) == reference(body, BOUNDARY)


def deep_mail(levels: int = 20, lines: int = 2500) -> bytes:
    raw = b'From: a@example.jp\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    for level in range(1, levels + 1):
        raw += f'--b{level - 1}\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'.encode()
    return raw + f"--b{levels}\r\nContent-Type: text/plain\r\n\r\n".encode() + (b"y" * 998 + b"\r\n") * lines


def test_a_deep_multi_megabyte_mail_is_split_within_the_readers_second() -> None:
    """Twenty nested multiparts around 2.5 MB of text (a fuzz run's mail): each level looks for its
    boundary once. The product's bound is `[mail] read_cpu_seconds`; one second of CPU in a fresh
    child is the hang guard here (the pattern tried at every byte took 1.5 s)."""
    raw = deep_mail()
    assert embedded_messages(raw) == []
    assert finishes(embedded_messages, raw, cpu_seconds=1)
