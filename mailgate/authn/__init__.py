"""Proving that a vendor notice is genuine: DKIM (and ARC) over each forwarded form of it."""

from mailgate.authn.arc import ArcCheck, check_arc
from mailgate.authn.domains import aligned
from mailgate.authn.inline import Forward, find_forwards, forward_mail, loose_date
from mailgate.authn.mime import Embedded, embedded_messages
from mailgate.authn.originals import STYLES, Original, find_originals
from mailgate.authn.proof import Proof, proof, prove
from mailgate.authn.signatures import Budget, Resolver, SignatureCheck, check_dkim

__all__ = [
    "STYLES",
    "ArcCheck",
    "Budget",
    "Embedded",
    "Forward",
    "Original",
    "Proof",
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
    "prove",
]
