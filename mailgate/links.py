"""Signed links: itsdangerous, one salt per purpose, several secrets for rotation.

The signature proves we issued the link; the Token row says what it is for, whether it expired, was
used or revoked. Links stay short for feature-phone browsers: /<prefix>/<token id>.<time>.<signature>.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from mailgate.config import Config, ConfigError
from mailgate.files import private_dir

# purpose -> URL prefix; the web app routes by these.
PREFIX = {
    "register": "r",
    "settings": "s",
    "login": "m",
    "confirm": "k",
    "change": "h",
    "cancel": "x",
    "claim": "w",  # a seat freed for the first one on a waitlist (ledger/waitlist.py)
    "session": "b",  # the booking pages after the right PIN: short-lived, never mailed
}
# Purposes whose link is used many times (a bookmark, the booking pages) rather than once.
REUSABLE = frozenset({"login", "session"})
# Some feature phones and mail apps cut or break a link longer than this when they wrap the text.
MAX_LINK = 120
# Links grow with the token id: measure the one a busy shop reaches after years (ten million links).
_FAR_TOKEN = 10_000_000


class Link(NamedTuple):
    """A link to put in a mail: the outbox keeps this, and the sender signs it into a URL when it
    sends the mail (a live URL kept in the database would open the account for whoever reads it)."""

    purpose: str
    token_id: int


class LinkError(Exception):
    """kind: 'tampered' | 'expired' | 'used' | 'revoked' | 'wrong_state' | 'changed' (a booking link
    mailed before the booking changed) | 'ended' (its booking was cancelled or expired since)."""

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


def link_secrets(cfg: Config, *, create: bool = True) -> list[str]:
    """Configured secrets, else (SQLite: one machine) one generated on first start and kept in
    var/secret (mode 0600). With PostgreSQL several nodes share the links, so they must share the
    secret: a node's own var/secret would make the links it mails fail on every other node.
    create=False (a command that only looks, and mails no link): a throwaway one if there is none."""
    if cfg.links.secrets:
        return list(cfg.links.secrets)
    if os.environ.get("MAILGATE_SECRET"):
        return [os.environ["MAILGATE_SECRET"]]
    if not cfg.db_url.startswith("sqlite"):
        raise ConfigError(
            f"{cfg.source or 'defaults'}: [links] secrets: with a shared database "
            f"({cfg.db_url.split(':')[0]}) "
            'every node must sign links with the same secret: set [links] secrets = ["..."] '
            "(at least 16 characters; `mailgate init` writes one) or MAILGATE_SECRET"
        )
    path: Path = cfg.var_dir / "secret"
    if not path.exists() and not create:
        return [secrets.token_urlsafe(32)]
    if not path.exists():
        private_dir(cfg.var_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return [path.read_text().strip()]
