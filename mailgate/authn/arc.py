"""An ARC chain as dkimpy verifies it, and which dkim=pass results its sealers vouch for. Nothing here
raises. A chain is verified only when its newest seal is from a domain that could vouch (a trusted
forwarder's), and it counts against the same per-mail budget as DKIM signatures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import dkim as dkimpy

from mailgate.authn.domains import aligned
from mailgate.authn.signatures import (
    Budget,
    Resolver,
    header_block,
    header_disagreement,
    header_values,
    quiet_logger,
    short,
    text_of,
)

# dkimpy accepts 50 sets; a forward passes a handful of hops.
MAX_ARC_SETS = 8
_COMMENT = re.compile(r"\([^()]*\)")
_DKIM_PASS = re.compile(r"^\s*dkim\s*=\s*pass\b", re.IGNORECASE)
_HEADER_D = re.compile(r"\bheader\.d\s*=\s*\"?([A-Za-z0-9._\-]+)", re.IGNORECASE)
_HEADER_I = re.compile(r"\bheader\.i\s*=\s*\"?[^@\s;\"]*@([A-Za-z0-9._\-]+)", re.IGNORECASE)
_TAG_I = re.compile(rb"(?:^|;)\s*i\s*=\s*(\d{1,3})\s*(?:;|$)")
_TAG_D = re.compile(rb"(?:^|;)\s*d\s*=\s*([^;\s]*)", re.IGNORECASE)


@dataclass(frozen=True)
class ArcCheck:
    """The outcome of an ARC chain (only built when the message has ARC headers)."""

    result: str  # "pass" | "fail" | "none" (not checked)
    reason: str
    # (sealing domain, domain that sealer saw dkim=pass for), only from sets of a passing chain whose
    # ARC-Message-Signature still verifies over this very message (so nothing changed after that seal).
    vouched: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        if self.result == "none":
            return f"ARC chain not checked: {self.reason}"
        text = f"ARC chain: {self.result}" + ("" if self.result == "pass" else f" ({self.reason})")
        if self.vouched:
            text += "; " + ", ".join(f"{sealer} saw dkim=pass for {d}" for sealer, d in self.vouched)
        return text


def _aar_dkim_pass(value: bytes) -> list[str]:
    """Domains an ARC-Authentication-Results header records as dkim=pass."""
    text = _COMMENT.sub(" ", value.decode("utf-8", "replace"))
    found: list[str] = []
    for segment in text.split(";"):
        if not _DKIM_PASS.match(segment):
            continue
        m = _HEADER_D.search(segment) or _HEADER_I.search(segment)
        if m:
            domain = m.group(1).lower().rstrip(".")
            if domain not in found:
                found.append(domain)
    return found


def _newest_sealer(seals: list[bytes]) -> str:
    """d= of the ARC-Seal with the highest instance (i=): the hop that delivered the mail to us."""
    newest, sealer = -1, ""
    for value in seals:
        flat = re.sub(rb"\s+", b" ", value)
        i, d = _TAG_I.search(flat), _TAG_D.search(flat)
        if i and d and int(i.group(1)) > newest:
            newest, sealer = int(i.group(1)), text_of(d.group(1)).lower().rstrip(".")
    return sealer


def check_arc(
    message: bytes,
    resolver: Resolver,
    sealers: Sequence[str] | None = None,
    budget: Budget | None = None,
) -> ArcCheck | None:
    """The ARC chain as dkimpy verifies it; None when the message has no ARC-Seal. With `sealers`, a
    chain whose newest seal is from none of them is not verified (it could not vouch for anything)."""
    seals = header_values(header_block(message), b"arc-seal")
    if not seals:
        return None
    disagreement = header_disagreement(message)
    if disagreement:
        return ArcCheck("fail", disagreement, ())
    if len(seals) > MAX_ARC_SETS:
        return ArcCheck("none", f"{len(seals)} ARC sets (at most {MAX_ARC_SETS} are verified)", ())
    if sealers is not None:
        newest = _newest_sealer(seals)
        if not any(aligned(newest, s) for s in sealers):
            return ArcCheck("none", f"sealed by {newest or '?'}, not a trusted forwarder", ())
    if budget is not None and not budget.take():
        return ArcCheck("none", "this mail had enough signatures checked already", ())
    logger, _ = quiet_logger()
    try:
        cv, results, reason = dkimpy.arc_verify(message, logger=logger, dnsfunc=resolver)
    except Exception as e:
        return ArcCheck("fail", short(str(e)) or type(e).__name__, ())
    if cv != dkimpy.CV_Pass:
        return ArcCheck("fail", short(str(reason)), ())
    vouched: list[tuple[str, str]] = []
    for result in results:
        if not (result.get("ams-valid") and result.get("as-valid")):
            continue
        sealer = text_of(result.get("as-domain")).lower().rstrip(".")
        for domain in _aar_dkim_pass(result.get("aar-value") or b""):
            if sealer and (sealer, domain) not in vouched:
                vouched.append((sealer, domain))
    return ArcCheck("pass", short(str(reason)), tuple(vouched))
