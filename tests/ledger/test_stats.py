"""`mailgate stats` on the generated month (SQLite and PostgreSQL): every booking counted once by
source and state, check-ins and no-shows of the days' appointments, and days that are the shop's (a
mail at 07:00 in Tokyo is that day's, though it is the day before in UTC)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailgate import config, db
from mailgate.models import Conflict, Customer, Message, MessageState
from tests.cli.month import MONTH
from tests.cli.test_desk import run
from tests.e2e.helpers import cli

EARLY = datetime(2031, 12, 4, 7, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2031-12-03 22:00 UTC


def test_stats_count_the_months_bookings_and_use_the_shops_days(month: Path) -> None:
    whole = cli(month, "stats", "--from", "2031-11-01", "--to", "2032-01-31")
    assert whole["bookings_total"] == MONTH.bookings
    assert set(whole["bookings"]) == {"web", "mail", "phone", "stores", "salonboard"}
    assert whole["new_customers"] == 0 and whole["mails_in"] == 0  # the customers were made "today"

    day = cli(month, "stats", "--from", "2031-12-03", "--to", "2031-12-03")
    listed = cli(month, "bookings", "--date", "2031-12-03")
    assert day["bookings_total"] == len(listed) > 0
    by_state: dict[str, int] = {}
    for b in listed:
        by_state[b["status"]] = by_state.get(b["status"], 0) + 1
    summed: dict[str, int] = {}
    for states in day["bookings"].values():
        for state, n in states.items():
            summed[state] = summed.get(state, 0) + n
    assert summed == by_state
    held = [b["id"] for b in listed if b["status"] == "confirmed"]
    for booking_id, command in zip(held[:3], ("checkin", "checkin", "noshow"), strict=True):
        assert run(month, command, str(booking_id))[0] == 0
    marked = cli(month, "stats", "--from", "2031-12-03", "--to", "2031-12-03")
    assert (marked["checked_in"], marked["no_shows"]) == (2, 1)
    assert cli(month, "stats", "--from", "2031-12-04", "--to", "2031-12-04")["no_shows"] == 0

    engine = db.make_engine(config.load(month).db_url)
    with db.transaction(engine) as s:
        s.add(Customer(name="早朝一郎", created_at=EARLY))
        s.add(
            Message(
                dedupe_key="early",
                rcpt="notices@seitai.example",
                via="smtp",
                spool_path="x/early",
                size=1,
                state=MessageState.HELD,
                received_at=EARLY,
            )
        )
        s.add(Conflict(booking_id=listed[0]["id"], reasons=["重複"], created_at=EARLY))
    engine.dispose()
    fourth = cli(month, "stats", "--from", "2031-12-04", "--to", "2031-12-04")
    assert (fourth["new_customers"], fourth["mails_in"], fourth["held"], fourth["conflicts_open"]) == (
        1,
        1,
        1,
        1,
    )
    third = cli(month, "stats", "--from", "2031-12-03", "--to", "2031-12-03")
    assert (third["new_customers"], third["mails_in"], third["held"], third["conflicts"]) == (0, 0, 0, 0)

    code, said = run(month, "stats", "--from", "2031-12-04", "--to", "2031-12-04")
    assert code == 0 and "mails in" in said and "Asia/Tokyo" in said
    assert run(month, "stats", "--from", "2031-12-05", "--to", "2031-12-04")[0] == 2
    assert run(month, "stats", "--from", "12/04")[0] == 2
