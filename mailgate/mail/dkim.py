"""DKIM signing and verification of outgoing mail (dkimpy, keys made with cryptography)."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import dkim as dkimpy
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Every header mailgate writes, plus those a reader would believe (Reply-To, Cc, Sender). Each is
# signed once more than the message has it ("oversigning"): verifiers match h= from the bottom up,
# so a copy added above ours (the one a mail client shows) or below, or one we never wrote, breaks
# the signature.
SIGNED_HEADERS: tuple[str, ...] = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "in-reply-to",
    "references",
    "auto-submitted",
)


def oversigned(message: bytes) -> list[bytes]:
    """h= for message: each of SIGNED_HEADERS as many times as it appears, plus once."""
    headers, _ = dkimpy.rfc822_parse(message)
    present = [name.lower() for name, _ in headers]
    return [h.encode("ascii") for h in SIGNED_HEADERS for _ in range(present.count(h.encode("ascii")) + 1)]


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_pem: bytes


def generate_private_key() -> bytes:
    """A new RSA 2048 key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), the form dkimpy reads."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.TraditionalOpenSSL,
        encryption_algorithm=serialization.NoEncryption(),
    )


def _load_private(private_pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("DKIM key must be an RSA private key")
    return key


@functools.lru_cache(maxsize=16)
def _pkcs1_pem(private_pem: bytes) -> bytes:
    # dkimpy parses only PKCS#1; accept PKCS#8 files too by converting them. Once per key: loading
    # checks the key, which took 5 times as long as the signature itself (38 ms against 7).
    return _load_private(private_pem).private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.TraditionalOpenSSL,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_b64(private_pem: bytes) -> str:
    """Base64 DER SubjectPublicKeyInfo, the p= value of the DNS record."""
    der = (
        _load_private(private_pem)
        .public_key()
        .public_bytes(
            encoding=serialization.Encoding.DER,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    return base64.b64encode(der).decode("ascii")


def dns_record(key: DkimKey) -> tuple[str, str]:
    """(name, TXT text) to publish for key."""
    return (
        f"{key.selector}._domainkey.{key.domain}",
        f"v=DKIM1; k=rsa; p={public_key_b64(key.private_pem)}",
    )


def load_key(path: Path, domain: str, selector: str) -> DkimKey:
    pem = path.read_bytes()
    _load_private(pem)  # fail at startup, not at the first signature
    return DkimKey(domain=domain, selector=selector, private_pem=pem)


def sign(message: bytes, key: DkimKey) -> bytes:
    """message with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256).

    The header's line endings follow the message's (CRLF unless the message has bare LF).
    """
    linesep = b"\r\n" if b"\r\n" in message or b"\n" not in message else b"\n"
    header = dkimpy.sign(
        message,
        key.selector.encode("ascii"),
        key.domain.encode("ascii"),
        _pkcs1_pem(key.private_pem),
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=b"rsa-sha256",
        include_headers=oversigned(message),
        linesep=linesep,
    )
    return header + message


def load_txt_records(path: Path) -> dict[str, str]:
    """Read {"s1._domainkey.coubic.com": "v=DKIM1; ..."} from a JSON file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a JSON object of name → TXT text")
    return dict(data)
