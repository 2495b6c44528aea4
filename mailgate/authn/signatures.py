"""The DKIM signatures of one message, verified with dkimpy one at a time as a rule asks for them, each
at most once, within a budget per inbound mail. Nothing here raises.

A signature costs a DNS query and a pass over the whole body (dkimpy canonicalizes and hashes the body
for every signature it verifies): a 9 MB mail carrying ten forged signatures took 20 s. So only the
signatures of the domains a rule needs are verified; a body hash that cannot match is found with one
canonicalization per method, shared by every signature; and at most `MAX_VERIFICATIONS` go to dkimpy
for the whole inbound mail.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import dkim as dkimpy
from dkim.canonicalization import CanonicalizationPolicy
from dkim.util import parse_tag_value

from mailgate.authn.domains import aligned

# DKIM-Signature headers read per message (a hostile mail could carry hundreds).
MAX_SIGNATURES = 10
# Signatures handed to dkimpy per inbound mail, over all the messages it carries.
MAX_VERIFICATIONS = 6
_MAX_REASON = 140

# Headers a message has once; a second, unsigned copy is how signed mail gets a new face.
_SINGLETONS = frozenset(
    {
        "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
        "references", "mime-version", "content-type", "content-transfer-encoding",
    }
)  # fmt: skip
_BODY_HASH = re.compile(r"body hash mismatch.*", re.IGNORECASE | re.DOTALL)
_TAG_D = re.compile(rb"(?:^|;)\s*d\s*=\s*([^;\s]*)", re.IGNORECASE)
_TAG_S = re.compile(rb"(?:^|;)\s*s\s*=\s*([^;\s]*)", re.IGNORECASE)
HEADER_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:", re.MULTILINE)
_FIELD_END = re.compile(rb"\r?\n(?![ \t])")
_HEAD_END = re.compile(rb"\n\r?\n")
_BARE_CR = re.compile(rb"\r(?!\n)")
_HASHES = {b"rsa-sha256": hashlib.sha256, b"rsa-sha1": hashlib.sha1, b"ed25519-sha256": hashlib.sha256}


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of one DKIM-Signature header."""

    domain: str  # d=, lower-cased, no trailing dot; "" when unreadable
    selector: str  # s= as written; "" when unreadable
    verified: bool
    reason: str  # "verified", or why not (short English)
    checked: bool = True  # False: left unverified (not a domain the rule needs, or over the budget)
    signed: tuple[str, ...] = ()  # h= of a verified signature, lower-cased: the headers it covers

    def describe(self) -> str:
        return f"DKIM d={self.domain or '?'} s={self.selector or '?'}: {self.reason}"


class Budget:
    """How many more signatures one inbound mail may have verified."""

    def __init__(self, verifications: int = MAX_VERIFICATIONS) -> None:
        self.left = verifications

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class Resolver:
    """A dkimpy `dnsfunc`: TXT answers from a mapping (tests, offline) or real DNS, cached per instance.

    It remembers what it answered so a failure can say "no key published" instead of a bare False.
    """

    def __init__(self, txt_records: Mapping[str, str] | None) -> None:
        self.records = None if txt_records is None else {_dns_key(k): v for k, v in txt_records.items()}
        self.answers: dict[str, bytes | None] = {}

    def __call__(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        key = _dns_key(name)
        if key in self.answers:
            return self.answers[key]
        if self.records is not None:
            text = self.records.get(key)
            answer = text.encode("utf-8") if text is not None else None
        else:
            answer = _looked_up(key, name, timeout)
        self.answers[key] = answer
        return answer


# Real DNS answers (a key, or none published) kept for this long across the messages a reader reads:
# a burst of one vendor's notices asks once, not once per mail. A key rotation is seen this late.
# A lookup that timed out is not kept: the next mail asks again.
DNS_KEEP_SECONDS = 300.0
_known: dict[str, tuple[bytes | None, float]] = {}


def _looked_up(key: str, name: bytes | str, timeout: float) -> bytes | None:
    now = time.monotonic()
    known = _known.get(key)
    if known is not None and known[1] > now:
        return known[0]
    from dkim.dnsplug import get_txt  # imported late: only real lookups need a resolver

    # dkimpy wraps timeouts in DnsTimeoutError and reports them as a failed signature.
    answer = get_txt(name if isinstance(name, bytes) else name.encode("utf-8"), timeout=timeout)
    if len(_known) > 1000:  # a hostile stream of made-up selectors
        _known.clear()
    _known[key] = (answer, now + DNS_KEEP_SECONDS)
    return answer


def _dns_key(name: bytes | str) -> str:
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    return text.strip().lower().rstrip(".")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a log call must never break verification
            self.messages.append(str(record.msg))


def quiet_logger() -> tuple[logging.Logger, _Collector]:
    # Built directly, not via getLogger: private to this check and never propagated to the app's logs.
    logger = logging.Logger("mailgate.authn.dkimpy", logging.ERROR)
    logger.propagate = False
    collector = _Collector()
    logger.addHandler(collector)
    return logger, collector


def short(text: str) -> str:
    text = " ".join(text.split())
    if _BODY_HASH.match(text):
        return "body hash mismatch"  # dkimpy appends both hashes: noise for an operator
    text = re.sub(r"\bb'([^']*)'", r"\1", text)  # bytes reprs from dkimpy's messages
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _tags(value: bytes) -> dict[str, bytes]:
    try:
        return {k.decode("ascii", "replace").lower(): v for k, v in parse_tag_value(value).items()}
    except Exception:  # unparsable: fish out d= and s= for the report
        out: dict[str, bytes] = {}
        for name, pattern in (("d", _TAG_D), ("s", _TAG_S)):
            m = pattern.search(value)
            if m:
                out[name] = m.group(1)
        return out


def text_of(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", "replace").strip()


def header_block(message: bytes) -> bytes:
    """The header block as dkimpy reads it: up to the first empty line (CRLF or LF)."""
    if message.startswith((b"\n", b"\r\n")):
        return b""
    end = _HEAD_END.search(message)
    return message[: end.start() + 1] if end else message


def header_values(head: bytes, wanted: bytes) -> list[bytes]:
    """The values of every `wanted` (lower-case) header in a header block, top first, unparsed."""
    values: list[bytes] = []
    for m in HEADER_NAME.finditer(head):
        if m.group(1).lower() == wanted:
            end = _FIELD_END.search(head, m.end())  # from here, not on a copy of the rest: linear
            values.append(head[m.end() : end.start()] if end else head[m.end() :])
    return values


def _parser_names(head: bytes) -> list[str]:
    """Header names as the mail parser (and so the rules) reads them, in order."""
    parsed = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\n")
    return [name.lower() for name in parsed]


def header_disagreement(message: bytes) -> str:
    """Why DKIM and the mail parser would read this message's headers differently ("" if they agree).

    dkimpy ends a header line at CRLF or LF only; the email package also at a lone CR, so an unsigned
    `X-Note: a\\rSubject: ...` is one header to the verifier and two to the rules."""
    if _BARE_CR.search(header_block(message)):
        return "the header block has a CR not followed by LF (DKIM and the mail parser read it differently)"
    return ""


class SignedMessage:
    """One message's DKIM signatures: listed from its header block, each verified on demand, once."""

    def __init__(self, message: bytes, resolver: Resolver, budget: Budget | None = None) -> None:
        self.message = message
        self.resolver = resolver
        self.budget = budget if budget is not None else Budget()
        self.values = header_values(header_block(message), b"dkim-signature")
        self._problem = header_disagreement(message)
        self._signer: dkimpy.DKIM | None = None
        self._collector: _Collector | None = None
        self._present: list[str] = []  # header names as the parser reads them
        self._results: dict[int, SignatureCheck] = {}
        self._bodies: dict[bytes, bytes] = {}  # canonical body per body canonicalization

    def check(self, domains: Sequence[str] | None = None) -> tuple[SignatureCheck, ...]:
        """One `SignatureCheck` per DKIM-Signature header, topmost first (at most MAX_SIGNATURES + 1).
        With `domains`, only signatures aligned with one of them are verified."""
        out: list[SignatureCheck] = []
        for i, value in enumerate(self.values[:MAX_SIGNATURES]):
            tags = _tags(value)
            domain, selector = text_of(tags.get("d")).lower().rstrip("."), text_of(tags.get("s"))
            if i in self._results:
                out.append(self._results[i])
            elif domains is not None and not any(aligned(domain, d) for d in domains):
                out.append(SignatureCheck(domain, selector, False, "not checked", checked=False))
            else:
                result = self._verify(i, tags, SignatureCheck(domain, selector, False, ""))
                if result.checked:
                    self._results[i] = result
                out.append(result)
        if len(self.values) > MAX_SIGNATURES:
            skipped = len(self.values) - MAX_SIGNATURES
            out.append(SignatureCheck("", "", False, f"{skipped} more DKIM signatures not checked", False))
        return tuple(out)

    def _load(self) -> tuple[dkimpy.DKIM, _Collector]:
        if self._signer is None or self._collector is None:
            logger, self._collector = quiet_logger()
            self._signer = dkimpy.DKIM(self.message, logger=logger)
            self._present = _parser_names(header_block(self.message))
        return self._signer, self._collector

    def _verify(self, idx: int, tags: dict[str, bytes], blank: SignatureCheck) -> SignatureCheck:
        def failed(reason: str) -> SignatureCheck:
            return replace(blank, reason=reason)

        if self._problem:
            return failed(self._problem)
        try:
            signer, collector = self._load()
        except Exception as e:  # the header block itself is unreadable
            return failed(f"message unreadable for DKIM: {short(str(e))}")
        if self._body_hash(signer, tags) is False:
            return failed("body hash mismatch")
        if not self.budget.take():
            reason = f"not checked: {MAX_VERIFICATIONS} signatures of this mail were checked already"
            return replace(blank, reason=reason, checked=False)
        collector.messages.clear()
        try:
            ok = bool(signer.verify(idx=idx, dnsfunc=self.resolver))
        except Exception as e:  # dkimpy raises for malformed tags, keys and canonicalization
            return failed(short(str(e)) or type(e).__name__)
        if not ok:
            key_name = f"{blank.selector}._domainkey.{blank.domain}".lower()
            if key_name in self.resolver.answers and self.resolver.answers[key_name] is None:
                return failed(f"no DKIM key published at {key_name}")
            return failed(short(collector.messages[-1]) if collector.messages else "signature did not verify")
        return self._verifier_checks(signer, tags, failed) or replace(
            blank, verified=True, reason="verified", signed=_signed_names(tags)
        )

    def _verifier_checks(
        self, signer: dkimpy.DKIM, tags: dict[str, bytes], failed: Callable[[str], SignatureCheck]
    ) -> SignatureCheck | None:
        """What RFC 6376 leaves to the verifier and dkimpy does not check; None when all is well."""
        signed = [h.strip().lower() for h in text_of(tags.get("h")).split(":")]
        if "from" not in signed:
            return failed("the From header is not signed")
        # h= covers the bottom-most instances only: a Subject added on top would be unsigned, yet it is
        # the one a mail reader shows. Counted as the parser sees them: that is what rules read.
        for name in sorted(_SINGLETONS.intersection(signed)):
            if self._present.count(name) > signed.count(name):
                return failed(f"an unsigned extra {name} header was added")
        if "l" in tags:
            body = self._canonical_body(signer, tags)
            try:
                length = int(tags["l"])
            except ValueError:
                return failed("unreadable l= body length")
            if body is None:
                return failed("unreadable l= body length")
            if length < len(body):
                return failed(f"signature covers only the first {length} of {len(body)} body bytes")
        return None

    def _canonical_body(self, signer: dkimpy.DKIM, tags: dict[str, bytes]) -> bytes | None:
        try:
            policy = CanonicalizationPolicy.from_c_value(tags.get("c", b"simple/simple"))
        except Exception:
            return None
        method = policy.body_algorithm.name
        if method not in self._bodies:
            self._bodies[method] = policy.canonicalize_body(signer.body)
        return self._bodies[method]

    def _body_hash(self, signer: dkimpy.DKIM, tags: dict[str, bytes]) -> bool | None:
        """Whether bh= is the hash of this body, without DNS and with one canonicalization per method
        for all the signatures; None when the tags cannot say (dkimpy then names the problem)."""
        try:
            hasher = _HASHES[tags["a"].strip().lower()]
            expected = base64.b64decode(re.sub(rb"\s+", b"", tags["bh"]), validate=True)
            body = self._canonical_body(signer, tags)
            if body is None:
                return None
            if "l" in tags:
                body = body[: int(tags["l"])]
        except (KeyError, ValueError, binascii.Error):
            return None
        return hasher(body).digest() == expected


def _signed_names(tags: dict[str, bytes]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h.strip().lower() for h in text_of(tags.get("h")).split(":") if h.strip()))


def check_dkim(message: bytes, resolver: Resolver) -> tuple[SignatureCheck, ...]:
    """Every DKIM signature of one message (at most MAX_SIGNATURES verified, + 1 for the rest)."""
    return SignedMessage(message, resolver, Budget(MAX_SIGNATURES)).check()
