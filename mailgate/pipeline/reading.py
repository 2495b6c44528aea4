"""A message's reading in one line, for the operator comparing what the rules read then and now
(`mailgate replay --dry-run`): the action, the notice, the time in the shop's zone, menu, staff,
customer. Two readings that differ are a difference for the operator to decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def line(intent: dict[str, Any], tz: ZoneInfo) -> str:
    """`book stores #87246923 12-03 13:00-14:00 整体 60分コース 佐藤 山田太郎`; an intent that
    names no booking is its action and the rule that decided (`hold (no rule)`); "" for none."""
    if not intent:
        return ""  # never read (no decision stored)
    fields = intent.get("fields") or {}
    words = [str(intent.get("action", "-"))]
    if intent.get("source"):
        words.append(
            str(intent["source"]) + (f" #{fields['external_id']}" if fields.get("external_id") else "")
        )
    previous = fields.get("previous") or {}
    if previous.get("start"):
        words.append(f"(was {_when(previous, tz)})")
    if fields.get("start"):
        words.append(_when(fields, tz))
    words += [str(fields[k]) for k in ("menu", "staff") if fields.get(k)]
    if fields.get("start") and not fields.get("staff"):
        words.append("指名なし")
    name = (intent.get("customer") or {}).get("name")
    if name:
        words.append(str(name))
    if len(words) == 1:
        words.append(f"({intent.get('rule') or 'no rule'})")
    return " ".join(words)


def _when(fields: dict[str, Any], tz: ZoneInfo) -> str:
    start = _local(fields["start"], tz)
    end = f"-{_local(fields['end'], tz):%H:%M}" if fields.get("end") else ""
    return f"{start:%m-%d %H:%M}{end}"


def _local(value: Any, tz: ZoneInfo) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.astimezone(tz) if at.tzinfo else at
