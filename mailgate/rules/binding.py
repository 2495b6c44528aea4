"""Which genuine notices are this shop's: [notices.bind.SOURCE] in mailgate.toml.

A vendor's signature proves the vendor sent a mail, not that it is about this shop: a notice for
another shop, or any mail the vendor's domain signs, carries one too. Where a source is bound, its
notices must be addressed to the shop's vendor-facing addresses (in a To the signature covers), name
the shop or its account id, and come from the configured sender addresses; where it is not, notices
apply as before and `serve` and `rules check` warn.
"""

from __future__ import annotations

import re
import unicodedata

from mailgate.authn import Original, Proof
from mailgate.config import Config, NoticeBinding
from mailgate.mail.addresses import same_address
from mailgate.rules.loading import RuleSet, sender_matches

_SPACE = re.compile(r"\s+")


def _canon(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def problem(source: str, binding: NoticeBinding, original: Original, proven: Proof | None) -> str:
    """Why this notice is not the shop's ("" when it is, or nothing is configured to say)."""
    mail, where = original.mail, f"[notices.bind.{source}]"
    if binding.senders and not any(sender_matches(mail.from_addr, s) for s in binding.senders):
        senders = " or ".join(binding.senders)
        return f"sent by {mail.from_addr or '(no From)'}, not by {senders} ({where} senders)"
    if binding.recipients:
        # A pasted notice's To is vouched for by the trusted forwarder; otherwise the vendor signs it.
        if original.style != "inline" and (proven is None or "to" not in proven.signed):
            return f"the vendor's signature does not cover the To header, which {where} recipients must check"
        if not any(same_address(a, r) for a in mail.to_addrs for r in binding.recipients):
            to = ", ".join(mail.to_addrs) or "(no To)"
            return f"addressed to {to}, not to {' or '.join(binding.recipients)} ({where} recipients)"
    if binding.names:
        text = _canon(mail.text)
        if not any(_canon(name) in text for name in binding.names):
            return f"names neither {' nor '.join(binding.names)} ({where} names): a notice for another shop?"
    return ""


def warnings(ruleset: RuleSet, cfg: Config) -> list[str]:
    """Sources whose notices apply whichever shop they name, and bindings that name no source."""
    sources: dict[str, list[str]] = {}
    for rule in ruleset.rules:
        if rule.source and rule.signed_by and rule.action not in ("ignore", "hold"):
            sources.setdefault(rule.source, list(rule.signed_by))
    out = [
        f"warning: {source} is unbound: any notice {' or '.join(domains)} signed is applied, whichever "
        f"shop it names; set [notices.bind.{source}] recipients and names in mailgate.toml"
        for source, domains in sources.items()
        if source not in cfg.notices.bind
    ]
    out += [
        f"warning: [notices.bind.{name}] names no source of the rules files ({', '.join(sorted(sources))})"
        for name in cfg.notices.bind
        if name not in sources
    ]
    return out
