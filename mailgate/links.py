"""Signed links: itsdangerous, one salt per purpose, several secrets for rotation.

The signature proves we issued the link; the Token row says what it is for, whether it expired, was
used or revoked. Links stay short for feature-phone browsers: /<prefix>/<token id>.<time>.<signature>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# purpose -> URL prefix; the web app routes by these.
PREFIX = {"register": "r", "settings": "s", "login": "m"}
# Purposes whose link is a bookmark (used many times) rather than a one-time action.
REUSABLE = frozenset({"login"})
# Some feature phones and mail apps cut or break a link longer than this when they wrap the text.
MAX_LINK = 120
# Links grow with the token id: measure the one a busy shop reaches after years (ten million links).
_FAR_TOKEN = 10_000_000


class LinkError(Exception):
    """kind: 'tampered' | 'expired' | 'used' | 'revoked' | 'wrong_state'."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Signer:
    secrets: Sequence[str]  # newest last: it signs, all verify
    base_url: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(list(self.secrets), salt=f"mailgate.link.{purpose}")

    def sign(self, purpose: str, token_id: int) -> str:
        return self._serializer(purpose).dumps(token_id)

    def url(self, purpose: str, token_id: int) -> str:
        return f"{self.base_url}/{PREFIX[purpose]}/{self.sign(purpose, token_id)}"

    def verify(self, purpose: str, signed: str, max_age_seconds: float | None) -> int:
        """The token id, or LinkError('tampered'|'expired')."""
        try:
            value = self._serializer(purpose).loads(signed, max_age=max_age_seconds)
        except SignatureExpired:
            raise LinkError("expired") from None
        except BadSignature:
            raise LinkError("tampered") from None
        if not isinstance(value, int):
            raise LinkError("tampered")
        return value


def longest_link(signer: Signer) -> int:
    return max(len(signer.url(purpose, _FAR_TOKEN)) for purpose in PREFIX)


def length_warning(signer: Signer) -> str | None:
    """What to say at startup when [web] base_url makes the links too long, else None."""
    n = longest_link(signer)
    if n <= MAX_LINK:
        return None
    return (
        f"[web] base_url makes links up to {n} characters long ({signer.base_url}/r/...), over {MAX_LINK}: "
        "some feature phones and mail apps cut or break longer links; choose a shorter base_url"
    )
