"""Proving that a vendor notice is genuine: DKIM (and ARC) over each forwarded form of it."""

from mailgate.authn.inline import Forward, find_forwards, forward_mail, loose_date
from mailgate.authn.mime import Embedded, embedded_messages
from mailgate.authn.originals import STYLES, Original, aligned, find_originals, proof
from mailgate.authn.signatures import ArcCheck, Resolver, SignatureCheck, check_arc, check_dkim

__all__ = [
    "STYLES",
    "ArcCheck",
    "Embedded",
    "Forward",
    "Original",
    "Resolver",
    "SignatureCheck",
    "aligned",
    "check_arc",
    "check_dkim",
    "embedded_messages",
    "find_forwards",
    "find_originals",
    "forward_mail",
    "loose_date",
    "proof",
]
