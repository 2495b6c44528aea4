"""A vendor notice a rule took: proven genuine, bound to this shop, its fields read into an Intent."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from mailgate.authn import Original, Proof, prove
from mailgate.config import Config
from mailgate.rules import binding
from mailgate.rules.intent import Intent
from mailgate.rules.loading import Rule
from mailgate.rules.read import Fields, read_fields

_SPACE = re.compile(r"\s+")
_STYLE = {"direct": "", "attached": "forwarded as an attachment", "inline": "pasted inline"}


def notice_intent(rule: Rule, original: Original, cfg: Config) -> Intent:
    taken = f"rule {rule.id} takes mail from {original.mail.from_addr} ({original.style})"
    trace = [taken, *original.found_as]

    def hold(reason: str, result: Fields | None = None) -> Intent:
        return Intent(
            "hold",
            reason,
            rule=rule.id,
            source=rule.source,
            customer=result.customer if result else {},
            fields=result.fields if result else {},
            trace=tuple(trace),
        )

    proven: Proof | None = None
    if rule.signed_by:
        proven = prove(original, rule.signed_by, cfg.authn.trusted_forwarders)
        trace += [*proven.notes, proven.why]
        if not proven.ok:
            return hold(f"not proven genuine: {proven.why}")
    if rule.action == "ignore" and not rule.hold_when_found:
        return _ignore(rule, original, None, trace)
    result = read_fields(
        rule.fields, original.mail, sections=dict(rule.sections), default_section=rule.section, tz=cfg.tz
    )
    if rule.action == "ignore":
        return _ignore(rule, original, result, trace)
    trace.extend(result.notes)
    bound = cfg.notices.bind.get(rule.source or "")
    if bound is not None:
        why = binding.problem(rule.source or "", bound, original, proven)
        if why:
            return hold(f"not this shop's notice: {why}")
        trace.append(f"bound to this shop by [notices.bind.{rule.source}]")
    missing = _missing(rule.action, result.fields)
    if result.errors or missing:
        problems = [*result.errors, *(f"{m} not found" for m in missing)]
        return hold(f"rule {rule.id} could not read the notice: {'; '.join(problems)}", result)
    via = f" ({_STYLE[original.style]} by {original.forwarder})" if original.forwarder else ""
    key, dated = identity(rule.source or "", original, proven)
    return Intent(
        rule.action,
        f"rule {rule.id}{via}",
        rule=rule.id,
        source=rule.source,
        customer=result.customer,
        fields=result.fields,
        trace=tuple(trace),
        notice_key=key,
        notice_at=dated,
    )


def identity(source: str, original: Original, proven: Proof | None) -> tuple[str, str | None]:
    """(key, signed Date) of the notice itself. The key is the same for the notice redirected,
    attached or forwarded again (its Message-ID, Date and text); the Date counts only when the
    vendor's verified signature covers it (never for a paste, whose Date the forwarder's client wrote)."""
    mail = original.mail
    text = _SPACE.sub("", unicodedata.normalize("NFKC", mail.text))
    basis = "\0".join([source, mail.message_id, mail.date.isoformat() if mail.date else "", text])
    key = hashlib.sha256(basis.encode("utf-8", "surrogateescape")).hexdigest()
    date = mail.date if mail.date is not None and mail.date.tzinfo is not None else None
    signed = proven is not None and "date" in proven.signed
    return key, date.isoformat() if signed and date else None


def _found(key: str, result: Fields) -> bool:
    if key == "customer":
        return bool(result.customer)
    return {"when": "start"}.get(key, key) in result.fields


def _ignore(rule: Rule, original: Original, result: Fields | None, trace: list[str]) -> Intent:
    found = [k for k in rule.hold_when_found if result is not None and _found(k, result)]
    what = rule.reason or "not a notice mailgate acts on"
    if found:
        reason = (
            f"rule {rule.id} ignores this mail ({what}), but it has a {' and a '.join(found)} like a notice: "
            f"has the vendor changed its wording? Fix the rules file and replay (subject "
            f"{original.mail.subject!r})"
        )
        fields = result.fields if result else {}
        return Intent("hold", reason, rule=rule.id, source=rule.source, fields=fields, trace=tuple(trace))
    return Intent("ignore", f"{what} (rule {rule.id})", rule=rule.id, source=rule.source, trace=tuple(trace))


def _missing(action: str, fields: dict[str, Any]) -> list[str]:
    """What an action cannot do without: a booking needs its time, a change or cancel must identify one."""
    need: list[str] = []
    if action in ("book", "change") and "start" not in fields:
        need.append("start")
    if action in ("change", "cancel") and "external_id" not in fields and "start" not in fields:
        need.append("external_id or start")
    return need
