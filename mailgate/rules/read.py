"""Reading a notice's fields as a rules file describes them: which labels, which parser, which section.

A field spec in TOML is either a list of labels or a table:
    "customer.name" = { label = ["名前(姓)", "名前(名)"], join = true }
    when = { label = ["予約日時", "来店日時"], parse = "datetime_range" }
The key says where the value goes; each key has a default parser, so `parse` is rarely needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mailgate.mail.parse import ParsedMail
from mailgate.rules import blocks
from mailgate.rules.ja import inquiry, parsers
from mailgate.rules.ja.values import FieldError

# Where each field goes, and the parser it uses unless the spec names another.
DEFAULT_PARSER: dict[str, str] = {
    "external_id": "reservation_id",
    "when": "datetime_range",
    "duration": "duration",
    "menu": "menu",
    "staff": "staff",
    "customer": "person",
    "customer.name": "name",
    "customer.name_kana": "kana",
    "customer.email": "email",
    "customer.phone": "phone",
    "previous.when": "datetime_range",
    "previous.duration": "duration",
    "message": "text",
}
_SPEC_KEYS = {"label", "parse", "section", "join"}


@dataclass(frozen=True)
class FieldSpec:
    key: str
    labels: tuple[str, ...]
    parse: str
    section: str = ""  # "" = the rule's section
    join: bool = False  # concatenate the values of every label present (姓 + 名)


def parse_field_specs(raw: Any, err: Callable[[str, str], None]) -> list[FieldSpec]:
    if not isinstance(raw, dict):
        err("fields", "must be a table of field = labels")
        return []
    specs: list[FieldSpec] = []
    for key, value in raw.items():
        if key not in DEFAULT_PARSER:
            err(key, f"unknown field (known: {', '.join(DEFAULT_PARSER)})")
            continue
        if isinstance(value, str | list):
            value = {"label": value}
        if not isinstance(value, dict):
            err(key, "expected a list of labels or a table with label = [...]")
            continue
        for extra in set(value) - _SPEC_KEYS:
            err(key, f"unknown key {extra!r} (known: {', '.join(sorted(_SPEC_KEYS))})")
        labels = value.get("label")
        labels = [labels] if isinstance(labels, str) else labels
        if not labels or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            err(key, "label must be a label or a list of labels")
            continue
        parser = value.get("parse", DEFAULT_PARSER[key])
        if parser not in parsers.PARSERS:
            err(key, f"unknown parser {parser!r} (known: {', '.join(sorted(parsers.PARSERS))})")
            continue
        specs.append(
            FieldSpec(
                key=key,
                labels=tuple(labels),
                parse=parser,
                section=str(value.get("section", "")),
                join=bool(value.get("join", False)),
            )
        )
    return specs


@dataclass
class Fields:
    fields: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _lines_for(
    spec: FieldSpec, parts: Mapping[str, Mapping[str, list[str]]], default_section: str
) -> list[str] | None:
    order = [spec.section or default_section, ""]
    for name in dict.fromkeys(order):
        values = parts.get(name)
        if values is None:
            continue
        if spec.join:
            found = [blocks.find(values, [label]) for label in spec.labels]
            present = [" ".join(v) for v in found if v]
            if present:
                return ["".join(present)]
        else:
            found_lines = blocks.find(values, spec.labels)
            if found_lines is not None:
                return found_lines
    return None


def read_fields(
    specs: Sequence[FieldSpec],
    mail: ParsedMail,
    *,
    sections: Mapping[str, Sequence[str]],
    default_section: str,
    tz: ZoneInfo,
) -> Fields:
    """Every field the specs name, normalized; a field that cannot be read is an error, one that is
    absent is simply left out."""
    out = Fields()
    texts = blocks.split_sections(mail.text, sections) if sections else {"": mail.text}
    parts = {name: blocks.labelled(text) for name, text in texts.items()}
    reference = mail.date or datetime.now(UTC)
    pctx = parsers.ParseContext(tz=tz, reference=reference)
    raw: dict[str, Any] = {}
    for spec in specs:
        lines = _lines_for(spec, parts, default_section)
        if lines is None:
            continue
        try:
            raw[spec.key] = parsers.PARSERS[spec.parse](lines, pctx)
        except FieldError as e:
            out.errors.append(f"{spec.key}: {e}")
            continue
        out.notes.append(f"{spec.key} from {'/'.join(spec.labels)}")
    _assemble(raw, out)
    return out


def _when(raw: dict[str, Any], prefix: str) -> dict[str, str]:
    when = raw.get(f"{prefix}when")
    if when is None:
        return {}
    start, end = when
    duration: timedelta | None = raw.get(f"{prefix}duration")
    if end is None and duration:
        end = start + duration
    out = {"start": start.isoformat()}
    if end is not None:
        out["end"] = end.isoformat()
    return out


def _assemble(raw: dict[str, Any], out: Fields) -> None:
    f = out.fields
    if "external_id" in raw:
        f["external_id"] = raw["external_id"]
    f.update(_when(raw, ""))
    previous = _when(raw, "previous.")
    if previous:
        f["previous"] = previous
    for key in ("menu", "staff"):
        if key in raw:
            f[key] = raw[key]
    if "message" in raw:
        f["message"] = raw["message"]
        f["kind"] = inquiry.inquiry_kind(raw["message"])
    customer = dict(raw.get("customer") or {})
    for key, value in raw.items():
        if key.startswith("customer.") and value:
            customer[key.removeprefix("customer.")] = value
    out.customer = {k: v for k, v in customer.items() if v}
