"""An Intent: what a message, a link or an operator asks the ledger to do."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# What a rules file may name. `book_mail` (the booking address) becomes book_request, book_reply or
# cancel_request by what the customer wrote (rules/book_mail.py).
ACTIONS = ("register", "book", "change", "cancel", "inquiry", "ignore", "hold", "book_mail")


@dataclass(frozen=True)
class Intent:
    action: str
    reason: str
    rule: str = ""  # "file/rule name" that decided, "" for built-in decisions
    source: str | None = None
    customer: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    trace: tuple[str, ...] = ()  # how the decision was reached: rule hits, signatures, fields read
    # The vendor notice itself, whatever wrapper it came in: its key (the same notice forwarded again
    # has the same key) and its Date when the vendor's signature covers it (ISO; None: unknown).
    notice_key: str = ""
    notice_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The `rules test --json` shape (corpus README): top-level fields plus the decision."""
        out: dict[str, Any] = {"action": self.action}
        if self.source is not None:
            out["source"] = self.source
        out.update(self.fields)
        out["customer"] = dict(self.customer)
        out["rule"] = self.rule
        out["reason"] = self.reason
        if self.notes:
            out["notes"] = list(self.notes)
        if self.trace:
            out["trace"] = list(self.trace)
        return out

    def record(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives (a copy: the decision record shares no dict or list with
        the intent), for a fifth of its cost: it is made for every message recorded."""
        return {name: _copied(getattr(self, name)) for name in _NAMES}


_NAMES = tuple(f.name for f in dataclasses.fields(Intent))


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copied(v) for v in value)
    return value
