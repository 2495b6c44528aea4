"""Which vendor messages an inbound mail carries, and whether each is proven to be genuine.

Anyone can write `From: noreply@coubic.com`; only a verified DKIM signature of the vendor's domain
over the very bytes we read proves it. Staff pass notices on in three ways:

- redirected by their mailbox: the top-level mail is the vendor's, with its signature intact
  ("direct", like mail the vendor sent straight to us);
- forwarded as an attachment: the message/rfc822 part keeps the vendor's bytes and signature
  ("attached");
- pasted inline by a mail client: no proof from the vendor survives ("inline"); it counts only when
  a trusted forwarder sent it and their own mail authenticates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mailgate.authn.inline import find_forwards, forward_mail
from mailgate.authn.mime import embedded_messages
from mailgate.authn.signatures import ArcCheck, Resolver, SignatureCheck, check_arc, check_dkim
from mailgate.mail.addresses import domain_of, same_address
from mailgate.mail.parse import ParsedMail, parse

T = TypeVar("T")

STYLES = ("direct", "attached", "inline")

# Relaxed alignment lets a parent domain sign for a subdomain; never a registry-run suffix such as
# co.jp, whose DNS no shop or vendor controls (a short list, not the whole Public Suffix List).
_PUBLIC_SUFFIXES = frozenset(
    {
        "co.jp", "ne.jp", "or.jp", "ac.jp", "ad.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp",
        "co.uk", "org.uk", "ac.uk", "com.au", "net.au", "co.kr", "com.cn", "com.tw", "com.hk",
    }
)  # fmt: skip

_STYLE_WORDS = {"attached": "forwarded as an attachment", "inline": "pasted inline"}


@dataclass(frozen=True)
class Original:
    """One candidate vendor message found in an inbound mail."""

    mail: ParsedMail  # the vendor's message as we can read it
    style: str  # "direct" (top-level mail, also covers redirects) | "attached" (message/rfc822) | "inline"
    signed_by: frozenset[str]  # lowercase d= domains whose DKIM signatures verified over exactly this message
    forwarder: str  # "" for direct; the outer mail's From address for attached/inline
    forwarder_signed_by: frozenset[str]  # domains whose DKIM verified on the outer mail (direct: empty)
    notes: tuple[str, ...]  # human-readable findings
    # Details behind signed_by / forwarder_signed_by, for reasons and audits.
    signatures: tuple[SignatureCheck, ...] = ()
    forwarder_signatures: tuple[SignatureCheck, ...] = ()
    arc: ArcCheck | None = None  # this message's ARC chain, when it has one


def _verified(checks: Iterable[SignatureCheck]) -> frozenset[str]:
    return frozenset(c.domain for c in checks if c.verified and c.domain)


def _notes(checks: Sequence[SignatureCheck], arc: ArcCheck | None, prefix: str = "") -> list[str]:
    out = [prefix + c.describe() for c in checks]
    if arc is not None:
        out.append(prefix + arc.describe())
    return out


def find_originals(
    raw: bytes, txt_records: Mapping[str, str] | None, parsed: ParsedMail | None = None
) -> list[Original]:
    """The top-level mail first, then each attached message/rfc822, then an inline-forwarded message if
    the text body contains one. txt_records None = real DNS; `parsed`: the caller's parse of raw. Never
    raises."""
    if isinstance(raw, str):  # be forgiving with callers that read the spool as text
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw)
    resolver = Resolver(txt_records)  # one cache: the same key is often asked for again
    outer = parsed if parsed is not None else parse(raw)
    outer_checks = check_dkim(raw, resolver)
    outer_arc = check_arc(raw, resolver)
    outer_notes = _notes(outer_checks, outer_arc)
    found = [
        Original(
            mail=outer,
            style="direct",
            signed_by=_verified(outer_checks),
            forwarder="",
            forwarder_signed_by=frozenset(),
            notes=tuple(outer_notes or ["no DKIM signature"]),
            signatures=outer_checks,
            arc=outer_arc,
        )
    ]
    forwarder = outer.from_addr
    forwarder_by = _verified(outer_checks)
    forwarder_notes = [f"outer mail from {forwarder or '(no From)'}: " + n for n in outer_notes] or [
        f"outer mail from {forwarder or '(no From)'}: no DKIM signature"
    ]

    for embedded in _safe_list(lambda: embedded_messages(raw)):
        checks = check_dkim(embedded.data, resolver)
        arc = check_arc(embedded.data, resolver)
        notes = _notes(checks, arc) or ["no DKIM signature"]
        if embedded.how == "rfc822-encoded":
            notes.append("the attached message was base64/quoted-printable encoded by the forwarder")
        elif embedded.how == "eml-file":
            notes.append("attached as an .eml file")
        found.append(
            Original(
                mail=parse(embedded.data),
                style="attached",
                signed_by=_verified(checks),
                forwarder=forwarder,
                forwarder_signed_by=forwarder_by,
                notes=(*notes, *forwarder_notes),
                signatures=checks,
                forwarder_signatures=outer_checks,
                arc=arc,
            )
        )

    if len(found) == 1:
        # Our MIME walk found nothing, yet the email package did (very broken MIME): its re-serialised
        # bytes are all we have; they verify only if serialisation changed nothing.
        for part in outer.attachments:
            try:
                data = part.as_bytes()
            except Exception:
                continue
            checks = check_dkim(data, resolver)
            notes = [*_notes(checks, None)] or ["no DKIM signature"]
            notes.append("the attached message's original bytes were not found; checked a re-serialisation")
            found.append(
                Original(
                    mail=parse(data),
                    style="attached",
                    signed_by=_verified(checks),
                    forwarder=forwarder,
                    forwarder_signed_by=forwarder_by,
                    notes=(*notes, *forwarder_notes),
                    signatures=checks,
                    forwarder_signatures=outer_checks,
                )
            )

    for forward in _safe_list(lambda: find_forwards(outer.text)):
        try:
            mail = forward_mail(forward)
        except Exception:  # parse() never raises, but the pseudo-header handling is ours
            continue
        found.append(
            Original(
                mail=mail,
                style="inline",
                signed_by=frozenset(),  # pasted text carries no signature
                forwarder=forwarder,
                forwarder_signed_by=forwarder_by,
                notes=(f"pasted inline under {forward.marker!r}", *forwarder_notes),
                forwarder_signatures=outer_checks,
            )
        )
    return found


def _safe_list(fn: Callable[[], Iterable[T]]) -> list[T]:
    try:
        return list(fn())
    except Exception:  # one broken stage must not lose the others
        return []


# --- proof ----------------------------------------------------------------------------------------


def _clean(domain: str) -> str:
    return domain.strip().strip(".").lower()


def aligned(signer: str, domain: str) -> bool:
    """Relaxed DKIM alignment: the same domain, or one is a subdomain of the other (never via a TLD or
    a registry suffix such as co.jp)."""
    signer, domain = _clean(signer), _clean(domain)
    if not signer or not domain:
        return False
    if signer == domain:
        return True
    parent, child = (signer, domain) if len(signer) < len(domain) else (domain, signer)
    return child.endswith("." + parent) and "." in parent and parent not in _PUBLIC_SUFFIXES


def _aligned_any(signers: Iterable[str], domains: Sequence[str]) -> list[str]:
    return sorted({s for s in signers if any(aligned(s, d) for d in domains)})


def _names(domains: Sequence[str]) -> str:
    cleaned = [_clean(d) for d in domains if _clean(d)]
    return " or ".join(cleaned) if cleaned else "(none)"


def _vendor_proof(
    original: Original, required: Sequence[str], trusted_forwarders: Sequence[str]
) -> tuple[bool, str]:
    via = f" ({_STYLE_WORDS['attached']} by {original.forwarder or 'an unknown sender'})"
    suffix = via if original.style == "attached" else ""
    good = _aligned_any(original.signed_by, required)
    if good:
        return True, f"DKIM signature of {good[0]} verified{suffix}"
    arc_ok = _arc_vouch(original.arc, required, trusted_forwarders)
    if arc_ok:
        sealer, domain = arc_ok
        return (
            True,
            f"DKIM signature of {domain} reported verified by {sealer} in a verified ARC chain{suffix}",
        )
    failed = [
        c for c in original.signatures if not c.verified and any(aligned(c.domain, d) for d in required)
    ]
    if failed:
        return False, f"DKIM d={failed[0].domain} did not verify: {failed[0].reason}{suffix}"
    others = sorted(original.signed_by)
    if others:
        return False, f"not signed by {_names(required)}: only by {', '.join(others)}{suffix}"
    if any(c.domain for c in original.signatures):
        bad = next(c for c in original.signatures if c.domain)
        return (
            False,
            f"not signed by {_names(required)}: DKIM d={bad.domain} did not verify: {bad.reason}{suffix}",
        )
    if original.signatures:
        reason = original.signatures[0].reason
        return False, f"not signed by {_names(required)}: unreadable DKIM signature ({reason}){suffix}"
    return False, f"not signed by {_names(required)}: no DKIM signature{suffix}"


def _forwarder_domains(trusted_forwarders: Sequence[str]) -> list[str]:
    return [d for d in (domain_of(a) for a in trusted_forwarders) if d]


def _arc_vouch(
    arc: ArcCheck | None, required: Sequence[str], trusted_forwarders: Sequence[str]
) -> tuple[str, str] | None:
    """(sealer, domain) when a trusted forwarder's domain sealed a passing ARC chain recording dkim=pass
    for a required domain. Only the sealer is trusted to have checked; anyone can seal."""
    if arc is None or arc.result != "pass":
        return None
    trusted = _forwarder_domains(trusted_forwarders)
    for sealer, domain in arc.vouched:
        if any(aligned(sealer, t) for t in trusted) and any(aligned(domain, r) for r in required):
            return sealer, domain
    return None


def _inline_proof(original: Original, trusted_forwarders: Sequence[str]) -> tuple[bool, str]:
    who = original.forwarder
    if not who:
        return False, "pasted inline by a sender with no From address, who cannot be a trusted forwarder"
    if not any(same_address(who, t) for t in trusted_forwarders):
        return False, f"pasted inline by {who}, who is not in [authn] trusted_forwarders"
    own = domain_of(who)
    good = _aligned_any(original.forwarder_signed_by, [own])
    if good:
        return True, f"pasted inline by trusted forwarder {who}, whose mail is DKIM-signed by {good[0]}"
    failed = [c for c in original.forwarder_signatures if not c.verified and aligned(c.domain, own)]
    if failed:
        return False, (
            f"pasted inline by {who}, but their own mail's DKIM signature (d={failed[0].domain}) "
            f"did not verify: {failed[0].reason}"
        )
    return False, f"pasted inline by {who}, but their own mail is not DKIM-signed by {own}"


def proof(original: Original, required: Sequence[str], trusted_forwarders: Sequence[str]) -> tuple[bool, str]:
    """Whether `original` is proven to come from one of the `required` domains, and why / why not, as one
    short English sentence for the operator (it becomes the held reason).

    direct/attached: a verified DKIM signature aligned with a required domain (same domain, or a parent
    or subdomain of it), or a passing ARC chain sealed by a trusted forwarder's domain that recorded such
    a dkim=pass. inline: the outer From is in `trusted_forwarders` and the outer mail carries a verified
    signature aligned with that forwarder's own domain.
    """
    if original.style == "inline":
        return _inline_proof(original, trusted_forwarders)
    if not any(_clean(d) for d in required):
        return False, "no DKIM domain is configured for this source, so nothing can prove it"
    return _vendor_proof(original, required, trusted_forwarders)
