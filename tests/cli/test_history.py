"""A customer's history — `mailgate customers history` — on the generated month (SQLite and
PostgreSQL): their mail in and out, every booking event with who caused it, the operators' notes and
the bookings the ledger had before any event, in time order, from a day on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select, update

from mailgate import config, db
from mailgate.inbound.store import store
from mailgate.models import Booking, Message
from tests.cli.test_desk import run
from tests.e2e.helpers import cli

ME = "yoshida.1@example.jp"  # customer #1 of the month, with two bookings in it
ASKED = (
    f"From: {ME}\r\nTo: book@shop.example\r\nSubject: 予約の相談\r\nMessage-ID: <h1@x.jp>\r\n"
    "\r\n来週空いてますか\r\n"
)


def test_the_history_tells_a_customers_mail_bookings_and_notes_in_time_order(month: Path) -> None:
    cfg = config.load(month)
    engine = db.make_engine(cfg.db_url)
    store(engine, cfg.spool_dir, ASKED.encode(), ["book@shop.example"], mail_from=ME, via="smtp")
    with db.transaction(engine) as s:  # an old mail, before the --since below
        s.exec(update(Message).values(received_at=datetime(2020, 1, 6, tzinfo=UTC)))  # type: ignore[call-overload]
        theirs = list(s.exec(select(Booking.id).where(Booking.customer_id == 1).order_by(col(Booking.id))))
    booked = cli(
        month, "book", "--customer", ME, "--menu", "整体60分", "--at", "2032-02-05 11:00", "--notify"
    )
    new = booked["booking_id"]
    assert run(month, "change", str(new), "--at", "2032-02-05 15:00", "--operator", "田中")[0] == 0
    note = cli(month, "note", "#1", "--title", "駐車場の件", "--assignee", "佐藤", "--as", "佐藤")

    history = cli(month, "customers", "history", "#1")
    seen = [(e["kind"], e["ref"], e["by"]) for e in history]
    assert [e["at"] for e in history] == sorted(e["at"] for e in history)
    assert seen[0] == ("mail in", f"message {_first(engine)}", ME), "the mail of 2020 first"
    assert theirs and set(seen[-len(theirs) :]) == {
        ("event", f"booking {b}", _source(engine, b)) for b in theirs
    }, "the month's bookings (made in 2031), which no event tells of, last"
    mine = [
        (e["kind"], e["ref"], e["by"])
        for e in history
        if e["ref"] in (f"booking {new}", f"note {note['id']}")
    ]
    assert [m[0] for m in mine] == ["event", "event", "note"]
    assert mine[1][2] == "operator:田中" and mine[2][2] == "operator:佐藤"
    moved = next(e for e in history if e["what"].startswith("booking_moved"))
    assert moved["what"].endswith(
        "2032-02-05 11:00 佐藤 整体 60分コース → 2032-02-05 15:00 佐藤 整体 60分コース"
    )
    out = [e for e in history if e["kind"] == "mail out"]
    assert [e["what"].split(":")[0] for e in out] == ["booking_confirmed"] and out[0]["by"] == ME
    assert not any(e["what"].startswith("mail_queued") for e in history), "the outbox row tells it"
    assert all(e["zone"] == "Asia/Tokyo" for e in history)

    later = cli(month, "customers", "history", ME, "--since", "2021-01-01")
    assert [e["ref"] for e in later] == [e["ref"] for e in history if not e["at"].startswith("2020")]
    assert len(later) == len(history) - 1
    code, table = run(month, "customers", "history", "#1")
    assert code == 0 and "駐車場の件" in table and "times in Asia/Tokyo" in table
    assert run(month, "customers", "history", "#99999")[0] == 1
    assert run(month, "customers", "history", "#1", "--since", "yesterday")[0] == 2


def _first(engine: object) -> int:
    with Session(engine) as s:  # type: ignore[call-overload]
        return s.exec(select(Message.id)).one() or 0


def _source(engine: object, booking_id: int) -> str:
    with Session(engine) as s:  # type: ignore[call-overload]
        return s.get(Booking, booking_id).source  # type: ignore[union-attr]
