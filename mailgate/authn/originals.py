"""Which vendor messages an inbound mail carries, and whether each is proven to be genuine.

Anyone can write `From: noreply@coubic.com`; only a verified DKIM signature of the vendor's domain
over the very bytes we read proves it. Staff pass notices on in three ways:

- redirected by their mailbox: the top-level mail is the vendor's, with its signature intact
  ("direct", like mail the vendor sent straight to us);
- forwarded as an attachment: the message/rfc822 part keeps the vendor's bytes and signature
  ("attached"); it counts only when a trusted forwarder attached it and their own mail authenticates;
- pasted inline by a mail client: no proof from the vendor survives ("inline"); it counts only when
  a trusted forwarder sent it and their own mail authenticates.

Finding the candidates only parses; a signature is verified when a rule asks for its domain, once,
within one budget for the whole inbound mail (see signatures.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from mailgate.authn.arc import ArcCheck, check_arc
from mailgate.authn.domains import aligned_any
from mailgate.authn.inline import find_forwards, forward_mail
from mailgate.authn.mime import embedded_messages
from mailgate.authn.signatures import Budget, Resolver, SignatureCheck, SignedMessage
from mailgate.mail.addresses import domain_of
from mailgate.mail.parse import ParsedMail, parse

T = TypeVar("T")

STYLES = ("direct", "attached", "inline")


class Evidence:
    """What can prove one message genuine: its DKIM signatures and its ARC chain, checked on demand."""

    def __init__(self, data: bytes, resolver: Resolver, budget: Budget) -> None:
        self.dkim = SignedMessage(data, resolver, budget)
        self._data, self._resolver, self._budget = data, resolver, budget
        self._arc: dict[tuple[str, ...] | None, ArcCheck | None] = {}

    def arc(self, sealers: Sequence[str] | None = None) -> ArcCheck | None:
        key = None if sealers is None else tuple(sealers)
        if key not in self._arc:
            self._arc[key] = check_arc(self._data, self._resolver, sealers, self._budget)
        return self._arc[key]


def _verified(checks: Iterable[SignatureCheck]) -> frozenset[str]:
    return frozenset(c.domain for c in checks if c.verified and c.domain)


def describe(checks: Sequence[SignatureCheck], arc: ArcCheck | None = None, prefix: str = "") -> list[str]:
    out = [prefix + c.describe() for c in checks]
    if arc is not None:
        out.append(prefix + arc.describe())
    return out


@dataclass(frozen=True, eq=False)
class Original:
    """One candidate vendor message found in an inbound mail."""

    mail: ParsedMail  # the vendor's message as we can read it
    style: str  # "direct" (top-level mail, also covers redirects) | "attached" (message/rfc822) | "inline"
    forwarder: str  # "" for direct; the outer mail's From address for attached/inline
    found_as: tuple[str, ...] = ()  # how it was found, for the operator
    evidence: Evidence | None = None  # this message's own signatures (None: pasted text, or unchecked)
    outer: Evidence | None = None  # the forwarder's mail (attached/inline)

    def checks(self, domains: Sequence[str] | None = None) -> tuple[SignatureCheck, ...]:
        """This message's signatures, verified only for `domains` (None: all, within the budget)."""
        return self.evidence.dkim.check(domains) if self.evidence else ()

    def forwarder_checks(self) -> tuple[SignatureCheck, ...]:
        """The forwarder's own mail's signatures, verified only for the forwarder's own domain."""
        own = domain_of(self.forwarder)
        return self.outer.dkim.check([own] if own else []) if self.outer else ()

    # Everything about the message, all signatures checked: for reports and tests, not for rules.
    @property
    def signatures(self) -> tuple[SignatureCheck, ...]:
        return self.checks()

    @property
    def signed_by(self) -> frozenset[str]:
        return _verified(self.signatures)

    @property
    def forwarder_signatures(self) -> tuple[SignatureCheck, ...]:
        return self.outer.dkim.check() if self.outer else ()

    @property
    def forwarder_signed_by(self) -> frozenset[str]:
        return _verified(self.forwarder_signatures)

    @property
    def arc(self) -> ArcCheck | None:
        return self.evidence.arc() if self.evidence else None

    @property
    def notes(self) -> tuple[str, ...]:
        if self.style == "inline":
            return self.found_as
        return (*(describe(self.signatures, self.arc) or ["no DKIM signature"]), *self.found_as)


def find_originals(
    raw: bytes,
    txt_records: Mapping[str, str] | None,
    parsed: ParsedMail | None = None,
    *,
    resolver: Resolver | None = None,
) -> list[Original]:
    """The top-level mail first, then each attached message/rfc822, then an inline-forwarded message if
    the text body contains one. txt_records None = real DNS (or the given `resolver`); `parsed`: the
    caller's parse of raw. Verifies nothing yet; never raises."""
    if isinstance(raw, str):  # be forgiving with callers that read the spool as text
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw)
    resolver = resolver or Resolver(txt_records)  # one cache: the same key is often asked for again
    budget = Budget()  # one budget for everything this mail carries
    outer = parsed if parsed is not None else parse(raw)
    outer_evidence = Evidence(raw, resolver, budget)
    found = [Original(outer, "direct", "", evidence=outer_evidence)]
    forwarder = outer.from_addr
    by = f"from {forwarder or '(no From)'}"

    for embedded in _safe_list(lambda: embedded_messages(raw)):
        notes = [f"forwarded as an attachment {by}"]
        if embedded.how == "rfc822-encoded":
            notes.append("the attached message was base64/quoted-printable encoded by the forwarder")
        elif embedded.how == "eml-file":
            notes.append("attached as an .eml file")
        found.append(
            Original(
                parse(embedded.data),
                "attached",
                forwarder,
                tuple(notes),
                Evidence(embedded.data, resolver, budget),
                outer_evidence,
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
            note = "the attached message's original bytes were not found; checked a re-serialisation"
            found.append(
                Original(
                    parse(data),
                    "attached",
                    forwarder,
                    (f"forwarded as an attachment {by}", note),
                    Evidence(data, resolver, budget),
                    outer_evidence,
                )
            )

    for forward in _safe_list(lambda: find_forwards(outer.text)):
        try:
            mail = forward_mail(forward, outer.subject)
        except Exception:  # parse() never raises, but the pseudo-header handling is ours
            continue
        notes = (f"pasted inline under {forward.marker!r} {by}",)
        found.append(Original(mail, "inline", forwarder, notes, None, outer_evidence))
    return found


def _safe_list(fn: Callable[[], Iterable[T]]) -> list[T]:
    try:
        return list(fn())
    except Exception:  # one broken stage must not lose the others
        return []


def signed_domains(checks: Iterable[SignatureCheck], domains: Sequence[str]) -> list[str]:
    """The verified signers among `checks` aligned with one of `domains`."""
    return aligned_any(_verified(checks), domains)
