"""The return path of each mail mailgate sends: bounce+<token>@ the shop's mail domain (VERP), the
token naming the outbox row and signed with the link secrets, so a delivery report finds its mail
and a forged one (a guessed row number) finds nothing."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from mailgate.config import Config

# 48 bits of HMAC: a forger gets one guess per report, and each guess is a mail we store.
_SIG_CHARS = 12
_MAX_ID_DIGITS = 12


def _sig(secret: str, outbox_id: int) -> str:
    digest = hmac.new(secret.encode(), f"mailgate.bounce.{outbox_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:_SIG_CHARS]


def token(secrets: Sequence[str], outbox_id: int) -> str:
    """The newest secret signs (rotation: all verify)."""
    return f"{outbox_id}-{_sig(secrets[-1], outbox_id)}"


def outbox_id_of(tag: str, secrets: Sequence[str]) -> int | None:
    """The outbox row a token names, or None when it is malformed or not signed by us. Case does not
    matter: some relays lowercase (or uppercase) local parts."""
    number, dash, sig = tag.strip().lower().partition("-")
    if not dash or not number.isascii() or not number.isdigit() or len(number) > _MAX_ID_DIGITS:
        return None
    outbox_id = int(number)
    if any(hmac.compare_digest(sig, _sig(secret, outbox_id)) for secret in secrets):
        return outbox_id
    return None


def address(cfg: Config, secrets: Sequence[str], outbox_id: int) -> str:
    """MAIL FROM (and Return-Path) for the mail of one outbox row."""
    return f"{cfg.mail.bounce}+{token(secrets, outbox_id)}@{cfg.bounce_domain}"
