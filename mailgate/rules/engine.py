"""Rules: one TOML file per source in rules/, turning a parsed mail into an Intent.

Python knows no vendor or address: a file says which mail it takes, who must have signed it, what it
means and where its fields are. Files are read in name order, rules in file order, rules naming their
senders (vendor notices) before the others; the first rule that matches decides.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailgate.authn import Original, prove
from mailgate.config import Config
from mailgate.mail.addresses import domain_of, same_address
from mailgate.mail.blank import is_blank, meaningful_text
from mailgate.mail.loops import auto_reply_reason
from mailgate.mail.parse import ParsedMail
from mailgate.rules.intent import ACTIONS, Intent
from mailgate.rules.read import FieldSpec, parse_field_specs, read_fields


class RulesError(Exception):
    """Mistakes in rules files, one per line: FILE:LINE: what is wrong."""


_RULE_KEYS = {"name", "rcpt", "from", "subject", "action", "replies", "fields", "section"}
_FILE_KEYS = {"source", "rule", "signed_by", "sections", "fields"}


@dataclass(frozen=True)
class Rule:
    file: str
    name: str
    action: str
    source: str | None
    rcpt: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()  # addresses, or "*@domain"
    subject: tuple[re.Pattern[str], ...] = ()
    replies: bool = False
    signed_by: tuple[str, ...] = ()  # DKIM domains that must vouch for the mail (vendor notices)
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # name -> marker lines
    section: str = ""  # where this rule's fields are read first ("" = the head, before any marker)
    fields: tuple[FieldSpec, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.file}/{self.name}"

    @property
    def is_notice(self) -> bool:
        return bool(self.senders or self.signed_by)

    def matches(self, mail: ParsedMail, rcpt: str) -> bool:
        if self.rcpt and not any(same_address(rcpt, r) for r in self.rcpt):
            return False
        if self.senders and not any(_sender_matches(mail.from_addr, s) for s in self.senders):
            return False
        return not self.subject or any(p.search(mail.subject) for p in self.subject)


def _sender_matches(addr: str, pattern: str) -> bool:
    if pattern.startswith("*@"):
        return domain_of(addr) == pattern[2:].lower()
    return same_address(addr, pattern)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    version: str  # hash of the files' text: recorded with every decision
    files: tuple[str, ...] = field(default=())


def _line_of(text: str, rule_index: int | None, key: str) -> int:
    lines = text.splitlines()
    start, seen = 0, -1
    if rule_index is not None:
        for i, line in enumerate(lines):
            if line.strip() == "[[rule]]":
                seen += 1
                if seen == rule_index:
                    start = i
                    break
    for i in range(start, len(lines)):
        if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", lines[i]) or lines[i].strip() == f"[{key}]":
            return i + 1
    return start + 1


def _expand(value: str, cfg: Config) -> str:
    def sub(m: re.Match[str]) -> str:
        section, _, key = m.group(1).partition(".")
        return str(getattr(getattr(cfg.raw, section), key))

    return re.sub(r"\{(\w+\.\w+)\}", sub, value)


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _read_file(path: Path, cfg: Config, errors: list[str]) -> list[Rule]:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        errors.append(f"{path}:{getattr(e, 'lineno', 1)}: not valid TOML: {e}")
        return []

    def file_err(key: str, msg: str) -> None:
        errors.append(f"{path}:{_line_of(text, None, key)}: {msg}")

    for key in set(data) - _FILE_KEYS:
        file_err(key, f"unknown key {key!r} (known: {', '.join(sorted(_FILE_KEYS))})")
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        file_err("source", "source must be a string")
    signed_by = _str_list(data.get("signed_by", []))
    if signed_by is None:
        file_err("signed_by", "signed_by must be a list of domains")
        signed_by = []
    sections: dict[str, tuple[str, ...]] = {}
    raw_sections = data.get("sections", {})
    if not isinstance(raw_sections, dict):
        file_err("sections", "sections must be a table of name = [marker lines]")
        raw_sections = {}
    for name, markers in raw_sections.items():
        values = _str_list(markers)
        if values is None:
            file_err(name, f"sections.{name} must be a list of marker lines")
        else:
            sections[name] = tuple(values)
    file_fields = parse_field_specs(data.get("fields", {}), lambda k, m: file_err(k, f"fields.{k}: {m}"))

    rules: list[Rule] = []
    for i, raw in enumerate(data.get("rule", [])):
        before = len(errors)

        def err(key: str, msg: str, i: int = i) -> None:
            errors.append(f"{path}:{_line_of(text, i, key)}: rule {i + 1}: {msg}")

        for key in set(raw) - _RULE_KEYS:
            err(key, f"unknown key {key!r} (known: {', '.join(sorted(_RULE_KEYS))})")
        name = raw.get("name", f"rule{i + 1}")
        action = raw.get("action")
        if action not in ACTIONS:
            err("action", f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        lists: dict[str, list[str]] = {}
        for key in ("rcpt", "from", "subject"):
            value = _str_list(raw.get(key, []))
            if value is None:
                err(key, f"{key} must be a string or a list of strings")
                value = []
            lists[key] = value
        patterns = []
        for pat in lists["subject"]:
            try:
                patterns.append(re.compile(pat))
            except re.error as e:
                err("subject", f"bad regular expression {pat!r}: {e}")
        try:
            rcpt = tuple(_expand(r, cfg) for r in lists["rcpt"])
        except AttributeError as e:
            err("rcpt", f"unknown placeholder: {e}")
            rcpt = ()
        if not isinstance(raw.get("replies", False), bool):
            err("replies", "replies must be true or false")
        section = raw.get("section", "")
        if section and section not in sections:
            err("section", f"section {section!r} is not one of the file's [sections]")
        rule_fields = parse_field_specs(
            raw.get("fields", {}), lambda k, m, err=err: err(k, f"fields.{k}: {m}")
        )
        for spec in rule_fields + file_fields:
            if spec.section and spec.section not in sections:
                err(
                    "fields",
                    f"field {spec.key}: section {spec.section!r} is not one of the file's [sections]",
                )
        if len(errors) == before:
            merged = {s.key: s for s in file_fields} | {s.key: s for s in rule_fields}
            rules.append(
                Rule(
                    file=path.stem,
                    name=str(name),
                    action=str(action),
                    source=source,
                    rcpt=rcpt,
                    senders=tuple(lists["from"]),
                    subject=tuple(patterns),
                    replies=bool(raw.get("replies", False)),
                    signed_by=tuple(d.lower() for d in signed_by),
                    sections=tuple(sections.items()),
                    section=str(section),
                    fields=tuple(merged.values()),
                )
            )
    return rules


def load(cfg: Config, rules_dir: Path | None = None) -> RuleSet:
    rules_dir = rules_dir or cfg.rules_dir
    files = sorted(rules_dir.glob("*.toml"))
    if not files:
        raise RulesError(f"{rules_dir}: no rules files (*.toml)")
    errors: list[str] = []
    rules: list[Rule] = []
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
        rules.extend(_read_file(path, cfg, errors))
    if errors:
        raise RulesError("\n".join(errors))
    # Rules that name their senders come before rules that take everything sent to an address: a
    # genuine vendor notice forwarded to the signup address by mistake is still a notice.
    rules.sort(key=lambda r: not r.is_notice)
    return RuleSet(rules=tuple(rules), version=digest.hexdigest()[:12], files=tuple(p.name for p in files))


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
    auto = auto_reply_reason(mail, envelope_from)
    own = cfg.is_local(mail.from_addr) and mail.from_addr != ""
    found: list[Original] | None = None
    for rule in ruleset.rules:
        if rule.is_notice:
            if found is None:
                found = list(originals() if originals else unverified(mail))
            for original in found:
                if rule.matches(original.mail, rcpt):
                    return _notice_intent(rule, original, cfg)
            continue
        if not rule.matches(mail, rcpt):
            continue
        if rule.replies and auto:
            return Intent("ignore", f"{auto}: not answered (RFC 3834)", rule=rule.id, source=rule.source)
        if rule.replies and own:
            return Intent("ignore", "sent from our own domain: not answered (mail loop)", rule=rule.id)
        if rule.replies and not mail.from_addr:
            return Intent("hold", "no sender address to answer", rule=rule.id)
        return _intent_for(rule, mail)
    if auto:
        return Intent("ignore", f"{auto}; no rule takes it")
    return Intent(
        "hold", f"no rule takes mail to {rcpt or '(no local recipient)'} from {mail.from_addr or '(none)'}"
    )


_STYLE = {"direct": "", "attached": "forwarded as an attachment", "inline": "pasted inline"}


def _notice_intent(rule: Rule, original: Original, cfg: Config) -> Intent:
    taken = f"rule {rule.id} takes mail from {original.mail.from_addr} ({original.style})"
    trace = [taken, *original.found_as]
    if rule.signed_by:
        proven = prove(original, rule.signed_by, cfg.authn.trusted_forwarders)
        ok, why = proven.ok, proven.why
        trace += [*proven.notes, why]
        if not ok:
            return Intent(
                "hold", f"not proven genuine: {why}", rule=rule.id, source=rule.source, trace=tuple(trace)
            )
    if rule.action == "ignore":
        return Intent("ignore", f"rule {rule.id}", rule=rule.id, source=rule.source, trace=tuple(trace))
    result = read_fields(
        rule.fields,
        original.mail,
        sections=dict(rule.sections),
        default_section=rule.section,
        tz=cfg.tz,
    )
    trace.extend(result.notes)
    missing = _missing(rule.action, result.fields)
    if result.errors or missing:
        problems = [*result.errors, *(f"{m} not found" for m in missing)]
        return Intent(
            "hold",
            f"rule {rule.id} could not read the notice: {'; '.join(problems)}",
            rule=rule.id,
            source=rule.source,
            customer=result.customer,
            fields=result.fields,
            trace=tuple(trace),
        )
    return Intent(
        rule.action,
        f"rule {rule.id}"
        + (f" ({_STYLE[original.style]} by {original.forwarder})" if original.forwarder else ""),
        rule=rule.id,
        source=rule.source,
        customer=result.customer,
        fields=result.fields,
        trace=tuple(trace),
    )


def _missing(action: str, fields: dict[str, Any]) -> list[str]:
    """What an action cannot do without: a booking needs its time, a change or cancel must identify one."""
    need: list[str] = []
    if action in ("book", "change") and "start" not in fields:
        need.append("start")
    if action in ("change", "cancel") and "external_id" not in fields and "start" not in fields:
        need.append("external_id or start")
    return need


def _intent_for(rule: Rule, mail: ParsedMail) -> Intent:
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
