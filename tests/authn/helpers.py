"""Building and signing test notices with the corpus keys (tests/corpus/keys/DOMAIN.SELECTOR.pem)."""

from __future__ import annotations

import base64
from functools import cache

import dkim as dkimpy

from mailgate.mail.dkim import SIGNED_HEADERS, DkimKey, _pkcs1_pem, dns_record, load_key, load_txt_records
from tests.conftest import CORPUS

KEYS = CORPUS / "keys"
TRUSTED = ["uketsuke@salon-mail.example"]
NOTICE = (
    "JITANBODY整体院 様\n\nSTORES 予約 で新しい予約が入りました。\n\n◆予約番号:\n  87246923\n\n"
    "◆予約日時:\n  2026年12月03日 (木) 13:00 ~ 14:00\n\n--\nSTORES 予約\n"
)


@cache
def key(domain: str, selector: str, *, as_domain: str | None = None) -> DkimKey:
    """A corpus key; as_domain signs with it under another d= (publish it with txt_records())."""
    loaded = load_key(KEYS / f"{domain}.{selector}.pem", domain, selector)
    return DkimKey(as_domain or domain, selector, loaded.private_pem) if as_domain else loaded


@cache
def pkcs1(k: DkimKey) -> bytes:
    return _pkcs1_pem(k.private_pem)  # loading an RSA key is slow (~0.1 s): once per key


@cache
def _records(extra: tuple[DkimKey, ...]) -> tuple[tuple[str, str], ...]:
    records = load_txt_records(KEYS / "dns.json")
    for k in extra:
        name, text = dns_record(k)
        records[name] = text
    return tuple(records.items())


def txt_records(*extra: DkimKey) -> dict[str, str]:
    return dict(_records(extra))


def notice(
    body: str = NOTICE,
    *,
    charset: str = "utf-8",
    cte: str = "base64",
    from_: str = "STORES 予約 <noreply@coubic.com>",
    subject: str = "[STORES 予約] 予約が入りました",
    to: str = "owner@salon-mail.example",
    extra_headers: tuple[str, ...] = (),
    linesep: str = "\r\n",
) -> bytes:
    """An unsigned vendor notice, encoded the way Japanese vendors do (headers RFC 2047, UTF-8)."""
    codec = "cp932" if charset.lower() == "shift_jis" else charset
    data = body.replace("\n", "\r\n").encode(codec)
    if cte == "base64":
        encoded = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    elif cte == "quoted-printable":
        import quopri

        encoded = quopri.encodestring(data).decode("ascii").replace("\r\n", "\n").replace("\n", "\r\n")
    else:  # 7bit (ISO-2022-JP) or 8bit (Shift_JIS): the bytes as they are
        encoded = data.decode("latin-1")
    enc_subject = "=?utf-8?b?" + base64.b64encode(subject.encode()).decode() + "?="
    name, _, addr = from_.partition(" <")
    enc_from = ("=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?= <" + addr) if addr else from_
    head = [
        *extra_headers,
        f'Content-Type: text/plain; charset="{charset}"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {cte}",
        f"From: {enc_from}",
        f"To: {to}",
        f"Subject: {enc_subject}",
        "Date: Thu, 26 Nov 2026 21:14:03 +0900",
        "Message-ID: <n1@coubic.com>",
    ]
    text = "\r\n".join(head) + "\r\n\r\n" + encoded
    raw = text.encode("latin-1")
    return raw.replace(b"\r\n", linesep.encode())


def signed(message: bytes, domain: str = "coubic.com", selector: str = "s1", **kw: str) -> bytes:
    """Signed like mailgate.mail.dkim.sign (relaxed/relaxed, its header list), with a cached key."""
    linesep = b"\r\n" if b"\r\n" in message or b"\n" not in message else b"\n"
    return raw_sign(
        message,
        key(domain, selector, **kw),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h.encode("ascii") for h in SIGNED_HEADERS],
        linesep=linesep,
    )


def raw_sign(message: bytes, k: DkimKey, **options: object) -> bytes:
    """dkimpy.sign with options mailgate's own sign() does not use (simple canonicalization, l=, h=)."""
    options.setdefault("linesep", b"\n" if b"\r\n" not in message else b"\r\n")
    header = dkimpy.sign(message, k.selector.encode(), k.domain.encode(), pkcs1(k), **options)  # type: ignore[arg-type]
    return header + message


def outer(
    body_parts: list[bytes],
    *,
    from_: str = "uketsuke@salon-mail.example",
    boundary: str = "==outer==",
    subtype: str = "mixed",
    linesep: bytes = b"\r\n",
) -> bytes:
    """A multipart forward around the given already-encoded parts (each: part headers + body)."""
    nl = linesep
    out = [
        b"Content-Type: multipart/" + subtype.encode() + b'; boundary="' + boundary.encode() + b'"',
        b"MIME-Version: 1.0",
        b"From: " + from_.encode(),
        b"To: notices@shop.example",
        b"Subject: Fwd: notice",
        b"Date: Thu, 26 Nov 2026 21:20:00 +0900",
        b"Message-ID: <fwd1@salon-mail.example>",
        b"",
        b"This is a multi-part message in MIME format.",
    ]
    head = nl.join(out)
    parts = b"".join(nl + b"--" + boundary.encode() + nl + p for p in body_parts)
    return head + parts + nl + b"--" + boundary.encode() + b"--" + nl


def text_part(text: str, linesep: bytes = b"\r\n") -> bytes:
    return linesep.join(
        [b'Content-Type: text/plain; charset="utf-8"', b"Content-Transfer-Encoding: 8bit", b"", text.encode()]
    )


def rfc822_part(message: bytes, *, cte: str | None = None, linesep: bytes = b"\r\n") -> bytes:
    head = [b"Content-Type: message/rfc822", b'Content-Disposition: attachment; filename="notice.eml"']
    if cte == "base64":
        head.append(b"Content-Transfer-Encoding: base64")
        message = base64.encodebytes(message).replace(b"\n", linesep)
    return linesep.join([*head, b"", message])


def inline_forward(
    pasted: str,
    *,
    from_: str = "uketsuke@salon-mail.example",
    note: str = "おつかれさまです。転送します。",
) -> bytes:
    body = f"{note}\n\n{pasted}".replace("\n", "\r\n").encode("utf-8")
    head = "\r\n".join(
        [
            'Content-Type: text/plain; charset="utf-8"',
            "MIME-Version: 1.0",
            "Content-Transfer-Encoding: 8bit",
            f"From: {from_}",
            "To: notices@shop.example",
            "Subject: Fwd: [STORES 予約] 予約が入りました",
            "Date: Thu, 26 Nov 2026 21:30:00 +0900",
            "Message-ID: <fwd2@salon-mail.example>",
        ]
    )
    return head.encode("utf-8") + b"\r\n\r\n" + body


GMAIL_PASTE = (
    "---------- Forwarded message ---------\n"
    "From: STORES 予約 <noreply@coubic.com>\n"
    "Date: 2026年11月26日(木) 21:14\n"
    "Subject: [STORES 予約] 予約が入りました\n"
    "To: <owner@salon-mail.example>\n\n" + NOTICE
)
