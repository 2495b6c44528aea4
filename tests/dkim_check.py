"""Checking mailgate's own DKIM signatures in tests with the verifier that checks vendors' mail."""

from __future__ import annotations

from collections.abc import Mapping

from mailgate.authn.signatures import Resolver, check_dkim


def verify(message: bytes, txt_records: Mapping[str, str]) -> bool:
    """True when the message's first DKIM signature verifies with these TXT records (no DNS)."""
    checks = check_dkim(message, Resolver(txt_records))
    return bool(checks) and checks[0].verified
