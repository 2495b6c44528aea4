"""Check every DKIM signature, and an ARC chain, of one message with dkimpy. Nothing here raises.

dkimpy verifies one signature per call (`DKIM.verify(idx)`), swallows some failures into a bare False
and raises on others; this module turns each outcome into a `SignatureCheck` with a short reason an
operator can read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import dkim as dkimpy
from dkim.canonicalization import CanonicalizationPolicy
from dkim.util import parse_tag_value

# A hostile mail could carry hundreds of signatures, each one a DNS query.
MAX_SIGNATURES = 10
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
_HEADER_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:", re.MULTILINE)
_FIELD_END = re.compile(rb"\r?\n(?![ \t])")
_COMMENT = re.compile(r"\([^()]*\)")
_DKIM_PASS = re.compile(r"^\s*dkim\s*=\s*pass\b", re.IGNORECASE)
_HEADER_D = re.compile(r"\bheader\.d\s*=\s*\"?([A-Za-z0-9._\-]+)", re.IGNORECASE)
_HEADER_I = re.compile(r"\bheader\.i\s*=\s*\"?[^@\s;\"]*@([A-Za-z0-9._\-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of one DKIM-Signature header."""

    domain: str  # d=, lower-cased, no trailing dot; "" when unreadable
    selector: str  # s= as written; "" when unreadable
    verified: bool
    reason: str  # "verified", or why not (short English)

    def describe(self) -> str:
        return f"DKIM d={self.domain or '?'} s={self.selector or '?'}: {self.reason}"


@dataclass(frozen=True)
class ArcCheck:
    """The outcome of an ARC chain (only built when the message has ARC headers)."""

    result: str  # "pass" | "fail"
    reason: str
    # (sealing domain, domain that sealer saw dkim=pass for), only from sets of a passing chain whose
    # ARC-Message-Signature still verifies over this very message (so nothing changed after that seal).
    vouched: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        text = f"ARC chain: {self.result}" + ("" if self.result == "pass" else f" ({self.reason})")
        if self.vouched:
            text += "; " + ", ".join(f"{sealer} saw dkim=pass for {d}" for sealer, d in self.vouched)
        return text


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
            from dkim.dnsplug import get_txt  # imported late: only real lookups need a resolver

            # dkimpy wraps timeouts in DnsTimeoutError and reports them as a failed signature.
            answer = get_txt(name if isinstance(name, bytes) else name.encode("utf-8"), timeout=timeout)
        self.answers[key] = answer
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


def _logger() -> tuple[logging.Logger, _Collector]:
    # Built directly, not via getLogger: private to this check and never propagated to the app's logs.
    logger = logging.Logger("mailgate.authn.dkimpy", logging.ERROR)
    logger.propagate = False
    collector = _Collector()
    logger.addHandler(collector)
    return logger, collector


def _short(text: str) -> str:
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


def _text(value: bytes | None) -> str:
    return (value or b"").decode("utf-8", "replace").strip()


def _signature_values_fallback(message: bytes) -> list[bytes]:
    """DKIM-Signature values when dkimpy cannot read the header block at all (for the report only)."""
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
    values: list[bytes] = []
    for m in _HEADER_NAME.finditer(head):
        if m.group(1).lower() == b"dkim-signature":
            end = _FIELD_END.search(head, m.end())  # from here, not on a copy of the rest: linear
            values.append(head[m.end() : end.start()] if end else head[m.end() :])
            if len(values) > MAX_SIGNATURES:
                break
    return values


def _check_one(
    signer: dkimpy.DKIM, idx: int, value: bytes, resolver: Resolver, collector: _Collector
) -> SignatureCheck:
    tags = _tags(value)
    domain = _text(tags.get("d")).lower().rstrip(".")
    selector = _text(tags.get("s"))

    def failed(reason: str) -> SignatureCheck:
        return SignatureCheck(domain, selector, False, reason)

    collector.messages.clear()
    try:
        ok = bool(signer.verify(idx=idx, dnsfunc=resolver))
    except Exception as e:  # dkimpy raises for malformed tags, keys and canonicalization
        return failed(_short(str(e)) or type(e).__name__)
    if not ok:
        key_name = f"{selector}._domainkey.{domain}".lower()
        if key_name in resolver.answers and resolver.answers[key_name] is None:
            return failed(f"no DKIM key published at {key_name}")
        if collector.messages:
            return failed(_short(collector.messages[-1]))
        return failed("signature did not verify")
    # RFC 6376 leaves these to the verifier; dkimpy does not check them.
    signed = [h.strip().lower() for h in _text(tags.get("h")).split(":")]
    if "from" not in signed:
        return failed("the From header is not signed")
    # h= covers the bottom-most instances only: a Subject added on top would be unsigned, yet it is the
    # one a mail reader (and our parser) shows.
    present = [k.decode("ascii", "replace").lower() for k, _ in signer.headers]
    for name in sorted(_SINGLETONS.intersection(signed)):
        if present.count(name) > signed.count(name):
            return failed(f"an unsigned extra {name} header was added")
    if "l" in tags:
        try:
            policy = CanonicalizationPolicy.from_c_value(tags.get("c", b"simple/simple"))
            body_len = len(policy.canonicalize_body(signer.body))
            if int(tags["l"]) < body_len:
                return failed(f"signature covers only the first {int(tags['l'])} of {body_len} body bytes")
        except Exception:
            return failed("unreadable l= body length")
    return SignatureCheck(domain, selector, True, "verified")


def check_dkim(message: bytes, resolver: Resolver) -> tuple[SignatureCheck, ...]:
    """One `SignatureCheck` per DKIM-Signature header, topmost first (at most MAX_SIGNATURES + 1)."""
    logger, collector = _logger()
    try:
        signer = dkimpy.DKIM(message, logger=logger)
        values = [v for k, v in signer.headers if k.lower() == b"dkim-signature"]
    except Exception as e:  # the header block itself is unreadable: every signature fails with why
        reason = f"message unreadable for DKIM: {_short(str(e))}"
        out = []
        for value in _signature_values_fallback(message)[:MAX_SIGNATURES]:
            tags = _tags(value)
            out.append(SignatureCheck(_text(tags.get("d")).lower(), _text(tags.get("s")), False, reason))
        return tuple(out)
    checks = [_check_one(signer, i, v, resolver, collector) for i, v in enumerate(values[:MAX_SIGNATURES])]
    if len(values) > MAX_SIGNATURES:
        skipped = len(values) - MAX_SIGNATURES
        checks.append(SignatureCheck("", "", False, f"{skipped} more DKIM signatures not checked"))
    return tuple(checks)


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


def has_arc(message: bytes) -> bool:
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
    return any(m.group(1).lower() == b"arc-seal" for m in _HEADER_NAME.finditer(head))


def check_arc(message: bytes, resolver: Resolver) -> ArcCheck | None:
    """The ARC chain as dkimpy verifies it; None when the message has no ARC-Seal."""
    if not has_arc(message):
        return None
    logger, _ = _logger()
    try:
        cv, results, reason = dkimpy.arc_verify(message, logger=logger, dnsfunc=resolver)
    except Exception as e:
        return ArcCheck("fail", _short(str(e)) or type(e).__name__, ())
    if cv != dkimpy.CV_Pass:
        return ArcCheck("fail", _short(str(reason)), ())
    vouched: list[tuple[str, str]] = []
    for result in results:
        if not (result.get("ams-valid") and result.get("as-valid")):
            continue
        sealer = _text(result.get("as-domain")).lower().rstrip(".")
        for domain in _aar_dkim_pass(result.get("aar-value") or b""):
            if sealer and (sealer, domain) not in vouched:
                vouched.append((sealer, domain))
    return ArcCheck("pass", _short(str(reason)), tuple(vouched))
