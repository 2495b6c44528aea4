"""`mailgate ledger` on the generated month, on SQLite and PostgreSQL: the lunch break shown as a break
(never as free time), and `--week` seven days per staff member in brief."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_desk import run
from tests.e2e.helpers import cli

WED = "2031-12-03"  # lunch 13:00-14:00 on weekdays; Tuesdays closed


def test_breaks_are_shown_as_breaks_not_free_time(month: Path) -> None:
    staff = cli(month, "ledger", "--date", WED)["staff"]
    working = {name: rows for name, rows in staff.items() if rows}
    assert working
    for name, rows in working.items():
        assert {"kind": "break", "start": "13:00", "end": "14:00"} in rows, name
        free = [(r["start"], r["end"]) for r in rows if r["kind"] == "free"]
        assert not [f for f in free if f[0] < "14:00" and f[1] > "13:00"], name
    code, said = run(month, "ledger", "--date", WED)
    assert code == 0 and "13:00-14:00  ..... break" in said


def test_a_week_per_staff_member_in_brief(month: Path) -> None:
    week = cli(month, "ledger", "--date", "2031-12-01", "--week")
    assert list(week["days"]) == [f"2031-12-0{d}" for d in range(1, 8)]
    closed = week["days"]["2031-12-02"]
    assert all(v == {"shift": "", "bookings": 0, "conflicts": 0, "free_minutes": 0} for v in closed.values())
    live = [b for b in cli(month, "bookings", "--date", WED) if b["status"] not in ("cancelled", "expired")]
    wed = week["days"][WED]
    for name, brief in wed.items():
        assert brief["bookings"] == sum(1 for b in live if b["staff"] == name), name
    code, said = run(month, "ledger", "--date", "2031-12-01", "--week", "--staff", next(iter(wed)))
    assert code == 0 and "off" in said and "booked" in said and "free" in said
