"""`mailgate audit` as cause and effect, on the generated month (SQLite and PostgreSQL): what happened
to a booking, a customer or because of a mail, or what one operator did, from a day on — each event
with its cause (the mail by sender and subject, the operator by the name `--as` gave) and what it
changed."""

from __future__ import annotations

from pathlib import Path

from mailgate import audit, config, db
from mailgate.audit import Actor
from mailgate.inbound.store import store
from tests.cli.test_desk import run
from tests.cli.test_history import ASKED, ME
from tests.e2e.helpers import cli


def test_audit_tells_who_caused_each_change_to_a_booking_and_what_it_changed(month: Path) -> None:
    booked = cli(
        month, "book", "--customer", "#1", "--menu", "整体60分", "--at", "2032-02-05 11:00", "--as", "佐藤"
    )
    new = str(booked["booking_id"])
    assert run(month, "change", new, "--at", "2032-02-05 15:00", "--as", "田中")[0] == 0
    assert run(month, "note", "#1", "--title", "時間変更の連絡済み", "--as", "田中")[0] == 0
    assert run(month, "cancel", new, "--operator", "鈴木")[0] == 0
    cfg = config.load(month)
    engine = db.make_engine(cfg.db_url)
    [mail] = store(engine, cfg.spool_dir, ASKED.encode(), ["book@shop.example"], mail_from=ME, via="smtp").ids
    with db.transaction(engine) as s:  # as the pipeline records what a mail caused
        audit.by(
            s,
            "waitlist_joined",
            Actor(f"message:{mail}", message_id=mail),
            customer_id=1,
            booking_id=int(new),
        )

    trail = cli(month, "audit", "--booking", new)
    assert [(e["kind"], e["cause"]) for e in trail] == [
        ("booking_created", "operator 佐藤"),
        ("booking_moved", "operator 田中"),
        ("booking_cancelled", "operator 鈴木"),
        ("waitlist_joined", f"mail {mail} from {ME} 「予約の相談」 via smtp"),
    ]
    assert trail[1]["what"] == "2032-02-05 11:00 佐藤 整体 60分コース → 2032-02-05 15:00 佐藤 整体 60分コース"
    assert [e["kind"] for e in cli(month, "audit", "--operator", "田中")] == ["booking_moved", "note_added"]
    assert [e["kind"] for e in cli(month, "audit", "--customer", ME, "--operator", "鈴木")] == [
        "booking_cancelled"
    ]
    assert [e["kind"] for e in cli(month, "audit", "--message", str(mail))] == ["waitlist_joined"]
    assert cli(month, "audit", "--booking", new, "--since", "2099-01-01") == []
    assert cli(month, "audit", "--booking", "16") == [], "a booking of the month no event tells of"
    code, table = run(month, "audit", "--booking", new)
    assert code == 0 and "operator 田中" in table and "times in Asia/Tokyo" in table
    assert run(month, "audit")[0] == 2
    assert run(month, "audit", "--booking", new, "--since", "12/5")[0] == 2
