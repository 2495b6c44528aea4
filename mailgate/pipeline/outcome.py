"""What came of a message: its final state, the reason people read, and a tag for the morning
reconcile (created, linked, already, moved, cancelled, conflict, recorded, deferred, held, ...)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    state: str
    reason: str
    tag: str
