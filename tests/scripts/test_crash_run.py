"""A small crash run (scripts/crash_run.py): signups, signed notices and cancellations over SMTP while
`mailgate serve` is SIGKILLed at random moments and started again; then nothing lost or doubled,
every change audited, every reply once. The checks themselves are shown to catch a lost reply and a
missing audit event."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, delete

from mailgate.models import Event
from tests.scripts.proof_runs import script

pytestmark = pytest.mark.e2e  # starts mailgate serve, again and again

crash_run = script("crash_run")
pg = script("proving_ground")


def test_a_stream_through_sigkills_is_stored_applied_and_answered_exactly_once(tmp_path: Path) -> None:
    report = crash_run.crash_run(tmp_path, kills=3, messages=80, seed=11, seconds=300, gap=1.5)
    print(report.text())
    assert report.problems == []
    assert report.figures["kills survived (SIGKILL)"] == 3
    assert report.figures["messages stored"] == 80
    assert report.figures["bookings twice (per number, per customer and time)"] == 0
    assert report.figures["tracebacks in the server log"] == 0

    # The same checks on a ledger with a change not audited and a reply gone from the Maildir.
    engine = pg.engine_of(tmp_path / "mailgate.toml")
    with Session(engine) as s:
        s.exec(delete(Event).where(col(Event.kind) == "booking_created"))  # type: ignore[call-overload]
        s.commit()
    next((tmp_path / "var" / "outbox" / "new").iterdir()).unlink()
    figures: dict[str, object] = {}
    problems: list[str] = []
    crash_run.check(engine, [tmp_path / "var" / "outbox"], report.items, figures, problems)
    engine.dispose()
    found = {p.split(":")[0] for p in problems}
    assert {
        "booking_created events do not match the bookings one to one",
        "replies recorded as sent, no file",
    } <= found
