"""PIN verifiers: scrypt with a per-customer salt, then an HMAC keyed by a secret from the
configuration. A 4-digit PIN has 10,000 values: scrypt alone only slows down whoever copied the
database; without the key they cannot check a single guess. The PIN itself is never stored or logged.

Stored as keyed$KID$scrypt:N:R:P:DKLEN$SALT$MAC, KID naming the key (the key of each link secret,
so rotating the secrets rotates the key: the newest makes verifiers, every listed one checks them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
SCHEME = "keyed"


@dataclass(frozen=True)
class PinKey:
    kid: str
    key: bytes


def pin_keys(secrets: Sequence[str]) -> list[PinKey]:
    """One key per link secret, newest last: derived, so the link secrets themselves never key a MAC."""
    keys = []
    for secret in secrets:
        key = hmac.new(secret.encode(), b"mailgate.pin-verifier", hashlib.sha256).digest()
        keys.append(PinKey(hashlib.sha256(key).hexdigest()[:8], key))
    return keys


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def keyed(key: PinKey, params: str, salt: bytes, digest: bytes) -> str:
    mac = hmac.new(key.key, digest, hashlib.sha256).digest()
    return f"{SCHEME}${key.kid}${params}${_b64(salt)}${_b64(mac)}"


def hash_pin(pin: str, keys: Sequence[PinKey]) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return keyed(keys[-1], f"scrypt:{_N}:{_R}:{_P}:{_DKLEN}", salt, digest)


def kid_of(stored: str) -> str:
    return stored.split("$")[1] if stored.startswith(f"{SCHEME}$") else ""


def check_pin(pin: str, stored: str, keys: Sequence[PinKey]) -> bool:
    try:
        scheme, kid, params, salt_b64, mac_b64 = stored.split("$")
        name, *numbers = params.split(":")
        n, r, p, dklen = (int(x) for x in numbers)
        salt, mac = _unb64(salt_b64), _unb64(mac_b64)
    except (ValueError, binascii.Error):
        return False
    key = next((k for k in keys if k.kid == kid), None)
    if scheme != SCHEME or name != "scrypt" or key is None:
        return False
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=2**26)
    return hmac.compare_digest(hmac.new(key.key, digest, hashlib.sha256).digest(), mac)


def is_current(stored: str, keys: Sequence[PinKey]) -> bool:
    """Made with the newest key: a verifier of an older secret is remade at the next right PIN."""
    return kid_of(stored) == keys[-1].kid
