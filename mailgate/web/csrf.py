"""CSRF tokens without cookies: many feature phones keep no cookies, so a form carries its own proof.

token = "<unix time>.<mac>", mac = HMAC-SHA256(newest link secret, "<purpose>|<signed link>|<time>"),
truncated and base64url-encoded. It binds a form to the link it was shown for and lasts two hours; every
configured secret verifies (rotation), only the newest signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence

FIELD = "csrf"
MAX_AGE_SECONDS = 2 * 60 * 60
# A little slack for clocks that disagree between processes.
_FUTURE_SLACK_SECONDS = 60
_MAC_BYTES = 16


def _mac(secret: str, purpose: str, signed: str, ts: int) -> str:
    msg = f"{purpose}|{signed}|{ts}".encode()
    digest = hmac.new(secret.encode(), msg, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make(secrets: Sequence[str], purpose: str, signed: str, now: float | None = None) -> str:
    """A token for a form on the page of `signed` (a link of `purpose`)."""
    if not secrets:
        raise ValueError("no link secrets configured")
    ts = int(time.time() if now is None else now)
    return f"{ts}.{_mac(secrets[-1], purpose, signed, ts)}"


def verify(
    secrets: Sequence[str], purpose: str, signed: str, token: str | None, now: float | None = None
) -> bool:
    """True if `token` was made by us for this purpose and link, less than two hours ago."""
    if not token or len(token) > 100:
        return False
    ts_text, sep, mac = token.partition(".")
    if not sep or not ts_text.isascii() or not ts_text.isdigit():
        return False
    ts = int(ts_text)
    current = time.time() if now is None else now
    if ts > current + _FUTURE_SLACK_SECONDS or current - ts > MAX_AGE_SECONDS:
        return False
    ok = False
    for secret in secrets:  # no early exit: the same work whichever secret matches
        ok |= hmac.compare_digest(_mac(secret, purpose, signed, ts), mac)
    return ok
