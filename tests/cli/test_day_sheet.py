"""`mailgate ledger`: the day per staff member with each booking and the free gaps of their shift, on
SQLite and PostgreSQL; a cancelled booking frees its gap; one staff member by name or alias."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_desk import MINE, THU, run, shop  # noqa: F401  (the fixture)
from tests.e2e.helpers import cli


def shape(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [
        ("free", r["start"], r["end"])
        if r["kind"] == "free"
        else ("booking", r["start_local"][11:], r["menu"])
        for r in rows
    ]


def test_the_day_shows_each_persons_bookings_and_free_gaps(shop: Path) -> None:  # noqa: F811
    booked = cli(
        shop, "book", "--customer", MINE, "--menu", "整体", "--at", f"{THU} 13:00", "--staff", "佐藤"
    )
    day = cli(shop, "ledger", "--date", THU)
    assert day["date"] == THU and list(day["staff"]) == ["佐藤", "田中"]
    assert shape(day["staff"]["佐藤"]) == [
        ("free", "10:00", "13:00"),
        ("booking", "13:00", "整体"),
        ("free", "14:00", "20:00"),
    ]
    assert shape(day["staff"]["田中"]) == [("free", "10:00", "20:00")]

    code, said = run(shop, "ledger", "--date", THU, "--staff", "さとう")  # an alias
    assert code == 0 and "佐藤" in said and "田中" not in said and "山田花子" in said

    cli(shop, "cancel", str(booked["booking"]["id"]))
    assert shape(cli(shop, "ledger", "--date", THU)["staff"]["佐藤"]) == [("free", "10:00", "20:00")]


def test_a_generated_month_day_lists_ten_bookings_for_each_person_at_work(month: Path) -> None:
    day = cli(month, "ledger", "--date", "2031-12-03")
    working = {name: rows for name, rows in day["staff"].items() if any(r["kind"] == "booking" for r in rows)}
    assert working and all(sum(r["kind"] == "booking" for r in rows) <= 10 for rows in working.values())
    assert sum(r["kind"] == "booking" for rows in working.values() for r in rows) >= 10 * len(working) - 5
