"""Whether a candidate vendor message is proven to come from a source's domains, and why or why not,
as one short English sentence for the operator (it becomes the held reason)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailgate.authn.arc import ArcCheck
from mailgate.authn.domains import aligned, clean, names
from mailgate.authn.originals import Original, describe, signed_domains
from mailgate.authn.signatures import SignatureCheck
from mailgate.mail.addresses import domain_of, same_address

_HOW = {"attached": "forwarded as an attachment", "inline": "pasted inline"}


@dataclass(frozen=True)
class Proof:
    ok: bool
    why: str
    notes: tuple[str, ...] = ()  # the checks made, for the decision's trace
    # The headers the vendor's verified signature covers (lower-case); empty for an inline paste or a
    # notice vouched for by ARC: nothing then says which headers the vendor wrote.
    signed: tuple[str, ...] = ()


def _forwarder_domains(trusted_forwarders: Sequence[str]) -> list[str]:
    return [d for d in (domain_of(a) for a in trusted_forwarders) if d]


def _arc_vouch(
    arc: ArcCheck | None, required: Sequence[str], trusted_forwarders: Sequence[str], author: str
) -> tuple[str, str] | None:
    """(sealer, domain) when a trusted forwarder's domain sealed a passing ARC chain recording dkim=pass
    for a required domain that is also the From's. Only the sealer is trusted to have checked."""
    if arc is None or arc.result != "pass":
        return None
    trusted = _forwarder_domains(trusted_forwarders)
    for sealer, domain in arc.vouched:
        if (
            any(aligned(sealer, t) for t in trusted)
            and any(aligned(domain, r) for r in required)
            and aligned(domain, author)
        ):
            return sealer, domain
    return None


def _vendor(original: Original, required: Sequence[str], trusted_forwarders: Sequence[str]) -> Proof:
    suffix = f" ({_HOW['attached']} by {original.forwarder or 'an unknown sender'})"
    suffix = suffix if original.style == "attached" else ""
    checks = original.checks(required)
    notes = describe(checks) or ["no DKIM signature"]
    author = domain_of(original.mail.from_addr)
    good = signed_domains(checks, required)
    pinned = [d for d in good if aligned(d, author)]
    if pinned:
        signature = next(c for c in checks if c.verified and c.domain == pinned[0])
        return Proof(True, f"DKIM signature of {pinned[0]} verified{suffix}", tuple(notes), signature.signed)
    if good:
        return Proof(
            False,
            f"DKIM signature of {good[0]} verified, but the From address is of "
            f"{author or '(no domain)'}, not of {good[0]}{suffix}",
            tuple(notes),
        )
    trusted = _forwarder_domains(trusted_forwarders)
    arc = original.evidence.arc(trusted) if original.evidence and trusted else None
    notes += describe((), arc)
    vouched = _arc_vouch(arc, required, trusted_forwarders, author)
    if vouched:
        sealer, domain = vouched
        why = f"DKIM signature of {domain} reported verified by {sealer} in a verified ARC chain{suffix}"
        return Proof(True, why, tuple(notes))
    return Proof(False, _not_signed(checks, required) + suffix, tuple(notes))


def _not_signed(sigs: Sequence[SignatureCheck], required: Sequence[str]) -> str:
    mine = [c for c in sigs if c.domain and any(aligned(c.domain, d) for d in required)]
    failed = [c for c in mine if c.checked]
    if failed:
        return f"DKIM d={failed[0].domain} did not verify: {failed[0].reason}"
    if mine:
        return f"DKIM d={mine[0].domain} {mine[0].reason}"
    others = sorted({c.domain for c in sigs if c.domain})
    if others:
        return f"not signed by {names(required)}: only by {', '.join(others)}"
    if sigs and sigs[0].reason:
        return f"not signed by {names(required)}: unreadable DKIM signature ({sigs[0].reason})"
    return f"not signed by {names(required)}: no DKIM signature"


def _forwarder(original: Original, trusted_forwarders: Sequence[str]) -> Proof:
    """A pasted or attached notice counts only from a trusted forwarder whose own mail authenticates."""
    how, who = _HOW[original.style], original.forwarder
    if not who:
        return Proof(False, f"{how} by a sender with no From address, who cannot be a trusted forwarder")
    if not any(same_address(who, t) for t in trusted_forwarders):
        return Proof(False, f"{how} by {who}, who is not in [authn] trusted_forwarders")
    own = domain_of(who)
    checks = original.forwarder_checks()
    notes = tuple(describe(checks, prefix=f"{who}'s own mail: ")) or (f"{who}'s own mail: no DKIM signature",)
    good = signed_domains(checks, [own])
    if good:
        return Proof(True, f"{how} by trusted forwarder {who}, whose mail is DKIM-signed by {good[0]}", notes)
    failed = [c for c in checks if c.checked and not c.verified and aligned(c.domain, own)]
    if failed:
        return Proof(
            False,
            f"{how} by {who}, but their own mail's DKIM signature (d={failed[0].domain}) "
            f"did not verify: {failed[0].reason}",
            notes,
        )
    return Proof(False, f"{how} by {who}, but their own mail is not DKIM-signed by {own}", notes)


def prove(original: Original, required: Sequence[str], trusted_forwarders: Sequence[str]) -> Proof:
    """direct: a verified DKIM signature of a required domain (same domain, a parent or a subdomain)
    that is also the From's domain, or a passing ARC chain sealed by a trusted forwarder's domain that
    recorded such a dkim=pass. attached: the same, and attached by a trusted forwarder whose own mail
    authenticates. inline: pasted by a trusted forwarder whose own mail authenticates."""
    if original.style == "inline":
        return _forwarder(original, trusted_forwarders)
    if not any(clean(d) for d in required):
        return Proof(False, "no DKIM domain is configured for this source, so nothing can prove it")
    vendor = _vendor(original, required, trusted_forwarders)
    if not vendor.ok or original.style != "attached":
        return vendor
    forwarder = _forwarder(original, trusted_forwarders)
    notes = vendor.notes + forwarder.notes
    if not forwarder.ok:
        return Proof(False, forwarder.why, notes)
    return Proof(True, vendor.why, notes, vendor.signed)


def proof(original: Original, required: Sequence[str], trusted_forwarders: Sequence[str]) -> tuple[bool, str]:
    """(proven, why): `prove` without the details."""
    found = prove(original, required, trusted_forwarders)
    return found.ok, found.why
