"""An import from file to ledger: every row checked first; nothing written when a row is bad (unless
the operator skips bad rows); one transaction; a dry run does it all and rolls it back, so it shows
the conflicts the import would record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from mailgate import db
from mailgate.audit import Actor
from mailgate.exchange import csv_import, import_apply
from mailgate.exchange.column_map import ColumnMap
from mailgate.exchange.csv_import import Problem
from mailgate.exchange.import_apply import Outcome
from mailgate.ledger.env import LedgerEnv


@dataclass
class Report:
    rows: int
    bad: list[Problem]
    applied: bool  # False: all or nothing, and some rows were bad
    dry_run: bool
    outcome: Outcome = field(default_factory=Outcome)


@dataclass(frozen=True)
class Asked:
    kind: str  # bookings | customers
    path: Path
    cmap: ColumnMap
    encoding: str
    skip_bad: bool = False
    dry_run: bool = False


class _RollBack(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def run(engine: Engine, env: LedgerEnv, asked: Asked, actor: Actor, now: datetime) -> Report:
    """Raises csv_import.FileError when the file as a whole cannot be read."""
    good, bad = csv_import.check(asked.path, asked.kind, asked.cmap, asked.encoding, env.calendar)
    report = Report(len(good) + len(bad), bad, applied=False, dry_run=asked.dry_run)
    if bad and not asked.skip_bad:
        return report
    try:
        with db.transaction(engine) as session:
            if asked.kind == "bookings":
                outcome = import_apply.bookings_in(session, env, good, actor, now)
            else:
                outcome = import_apply.customers_in(session, good, actor, now)
            import_apply.summary(session, actor, asked.kind, asked.path.name, outcome, len(bad))
            if asked.dry_run:
                raise _RollBack(outcome)
    except _RollBack as r:
        outcome = r.outcome
    report.outcome, report.applied = outcome, not asked.dry_run
    return report
