"""Rules turning a parsed mail into an Intent: the first rule that takes the mail decides.

The rules come from rules/*.toml (loading.py); a vendor notice a rule takes is proven, bound to the
shop and read by notices.py; everything else (signup mail) is decided here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mailgate.authn import Original
from mailgate.config import Config
from mailgate.mail.addresses import domain_of
from mailgate.mail.blank import is_blank, meaningful_text
from mailgate.mail.compose import unanswerable
from mailgate.mail.loops import auto_reply_reason
from mailgate.mail.parse import ParsedMail
from mailgate.rules import book_mail, bounce_mail
from mailgate.rules.intent import Intent
from mailgate.rules.loading import Rule, RulesError, RuleSet, load
from mailgate.rules.notices import notice_intent

__all__ = ["Intent", "Originals", "Rule", "RuleSet", "RulesError", "decide", "load", "unverified"]


Originals = Callable[[], Sequence[Original]]


def unverified(mail: ParsedMail) -> list[Original]:
    """The mail itself as its only candidate, with no signature checked (no proof for notices)."""
    return [Original(mail, "direct", "", ("signatures not checked",))]


def decide(
    ruleset: RuleSet,
    mail: ParsedMail,
    rcpt: str,
    envelope_from: str | None,
    cfg: Config,
    originals: Originals | None = None,
) -> Intent:
    """The Intent for one mail to one recipient. Reads and changes nothing itself: signatures are
    checked by `originals` (called only when a notice rule needs them)."""
    if cfg.is_bounce_address(rcpt):  # our own return path: read before any rule, whatever the rules say
        return bounce_mail.intent(mail, rcpt)
    auto = auto_reply_reason(mail, envelope_from, ours={domain_of(cfg.sender), *cfg.mail.domains})
    own = cfg.is_local(mail.from_addr) and mail.from_addr != ""
    found: list[Original] | None = None
    for rule in ruleset.rules:
        if rule.is_notice:
            if found is None:
                found = list(originals() if originals else unverified(mail))
            for original in found:
                if rule.matches(original.mail, rcpt):
                    return notice_intent(rule, original, cfg)
            continue
        if not rule.matches(mail, rcpt):
            continue
        if rule.replies and auto:
            return Intent("ignore", f"{auto}: not answered (RFC 3834)", rule=rule.id, source=rule.source)
        if rule.replies and own:
            return Intent("ignore", "sent from our own domain: not answered (mail loop)", rule=rule.id)
        if rule.replies and not mail.from_addr:
            return Intent("hold", "no sender address to answer", rule=rule.id)
        if rule.replies and (why := unanswerable(mail.from_addr)):
            return Intent("hold", f"no sender address to answer: {why}", rule=rule.id)
        return _intent_for(rule, mail, rcpt, cfg)
    if auto:
        return Intent("ignore", f"{auto}; no rule takes it")
    return Intent(
        "hold", f"no rule takes mail to {rcpt or '(no local recipient)'} from {mail.from_addr or '(none)'}"
    )


def _intent_for(rule: Rule, mail: ParsedMail, rcpt: str, cfg: Config) -> Intent:
    if rule.action == "book_mail":
        return book_mail.intent(rule.id, mail, rcpt, cfg)
    if rule.action == "register":
        notes: Sequence[str] = ()
        if not is_blank(mail.text):
            notes = (f"not a blank mail; the customer wrote: {meaningful_text(mail.text)[:200]}",)
        return Intent(
            "register",
            f"mail to the signup address (rule {rule.id})",
            rule=rule.id,
            source=rule.source,
            customer={"email": mail.from_addr},
            notes=tuple(notes),
        )
    return Intent(rule.action, f"rule {rule.id}", rule=rule.id, source=rule.source)
