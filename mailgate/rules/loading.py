"""Rules files: one TOML file per source in rules/, read into Rules in the order they are tried.

Python knows no vendor or address: a file says which mail it takes, who must have signed it, what it
means and where its fields are. Files are read in name order, rules in file order, rules naming their
senders (vendor notices) before the others.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailgate.config import Config
from mailgate.mail.addresses import domain_of, same_address
from mailgate.mail.parse import ParsedMail
from mailgate.mail.subjects import strip_forward_prefixes
from mailgate.rules.intent import ACTIONS
from mailgate.rules.read import FieldSpec, parse_field_specs


class RulesError(Exception):
    """Mistakes in rules files, one per line: FILE:LINE: what is wrong."""


_RULE_KEYS = {
    "name", "rcpt", "rcpt_tags", "from", "subject", "action", "replies", "fields", "section", "reason",
    "hold_when_found",
}  # fmt: skip
# What `hold_when_found` may name: a field that, read from a mail an ignore rule takes, means it may be
# a notice after all (a vendor's new wording) and an operator should look.
FOUND_KEYS = ("external_id", "when", "customer")
_FILE_KEYS = {"source", "rule", "signed_by", "sections", "fields"}


@dataclass(frozen=True)
class Rule:
    file: str
    name: str
    action: str
    source: str | None
    rcpt: tuple[str, ...] = ()
    rcpt_tags: bool = False  # book+KEY@ reaches a rule for book@ too (a reply to one mail's own address)
    senders: tuple[str, ...] = ()  # addresses, or "*@domain"
    subject: tuple[re.Pattern[str], ...] = ()
    replies: bool = False
    signed_by: tuple[str, ...] = ()  # DKIM domains that must vouch for the mail (vendor notices)
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # name -> marker lines
    section: str = ""  # where this rule's fields are read first ("" = the head, before any marker)
    fields: tuple[FieldSpec, ...] = ()
    reason: str = ""  # said with the action (why a vendor's mail is ignored)
    hold_when_found: tuple[str, ...] = ()  # ignore rules: hold instead when one of these can be read

    @property
    def id(self) -> str:
        return f"{self.file}/{self.name}"

    @property
    def is_notice(self) -> bool:
        return bool(self.senders or self.signed_by)

    def matches(self, mail: ParsedMail, rcpt: str) -> bool:
        if self.rcpt and not any(same_address(rcpt, r) for r in self.rcpt):
            untagged = f"{rcpt.rpartition('@')[0].partition('+')[0]}@{rcpt.rpartition('@')[2]}"
            if not (self.rcpt_tags and any(same_address(untagged, r) for r in self.rcpt)):
                return False
        if self.senders and not any(sender_matches(mail.from_addr, s) for s in self.senders):
            return False
        if not self.subject:
            return True
        # A forwarding client's "Fwd: FW: 転送:" in front must not hide a subject from an anchored pattern.
        subjects = {mail.subject, strip_forward_prefixes(mail.subject)}
        return any(p.search(s) for p in self.subject for s in subjects)


def sender_matches(addr: str, pattern: str) -> bool:
    """An address against a configured sender: an address, or "*@domain" for any at that domain."""
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
        for flag in ("replies", "rcpt_tags"):
            if not isinstance(raw.get(flag, False), bool):
                err(flag, f"{flag} must be true or false")
        if not isinstance(raw.get("reason", ""), str):
            err("reason", "reason must be a string")
        found = _str_list(raw.get("hold_when_found", []))
        if found is None or any(k not in FOUND_KEYS for k in found):
            err("hold_when_found", f"hold_when_found must list fields of {', '.join(FOUND_KEYS)}")
            found = []
        elif found and action != "ignore":
            err("hold_when_found", "hold_when_found is for ignore rules")
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
                    rcpt_tags=bool(raw.get("rcpt_tags", False)),
                    senders=tuple(lists["from"]),
                    subject=tuple(patterns),
                    replies=bool(raw.get("replies", False)),
                    signed_by=tuple(d.lower() for d in signed_by),
                    sections=tuple(sections.items()),
                    section=str(section),
                    fields=tuple(merged.values()),
                    reason=str(raw.get("reason", "")),
                    hold_when_found=tuple(found),
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
