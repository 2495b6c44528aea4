"""The work queue — `mailgate tasks` and `due_tasks` for the morning report — on the generated month
(SQLite and PostgreSQL): operators' notes not done and inquiries someone must act on, by next-action
day with the overdue ones first and marked, per assignee, due by a day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import Session

from mailgate import config, db
from mailgate.ledger.tasks import due_tasks
from mailgate.models import Inquiry
from tests.cli.test_desk import run
from tests.e2e.helpers import cli


def _queue(month: Path) -> None:
    """Four notes (one then done) and an inquiry given to 佐藤 by `inquiries set`."""
    for customer, assignee, next_on in (
        ("#1", "佐藤", "2031-12-03"),
        ("#2", "田中", "2031-12-10"),
        ("#3", "佐藤", ""),
    ):
        dated = ["--next", next_on] if next_on else []
        cli(month, "note", customer, "--title", f"連絡 {customer}", "--assignee", assignee, *dated)
    finished = cli(month, "note", "#4", "--title", "済み", "--assignee", "佐藤", "--next", "2031-12-01")
    cli(month, "notes", "set", str(finished["id"]), "--status", "done")
    with db.transaction(db.make_engine(config.load(month).db_url)) as s:
        asked = Inquiry(
            source="stores", customer_id=5, name="高橋誠", body="\n駐車場はありますか", kind="question",
            received_at=datetime(2031, 12, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        s.add(asked)
        s.flush()
        s.add(Inquiry(source="stores", name="(no one on it)", body="x", kind="question"))
    code, said = run(month, "inquiries", "set", str(asked.id), "--assignee", "佐藤", "--next", "2031-12-04")
    assert code == 0, said


def test_the_queue_lists_open_work_by_next_day_overdue_first_and_marked(month: Path) -> None:
    _queue(month)
    queue = cli(month, "tasks", "--date", "2031-12-05")
    assert [(t["kind"], t["title"], t["next_on"], t["overdue"]) for t in queue] == [
        ("note", "連絡 #1", "2031-12-03", True),
        ("inquiry", "質問: 駐車場はありますか", "2031-12-04", True),
        ("note", "連絡 #2", "2031-12-10", False),
        ("note", "連絡 #3", None, False),
    ]
    assert [t["customer_id"] for t in queue] == [1, 5, 2, 3]
    assert queue[0]["customer"] and queue[0]["status_label"] == "対応待ち"
    mine = cli(month, "tasks", "--assignee", "佐藤", "--due", "--date", "2031-12-03")
    assert [(t["title"], t["overdue"]) for t in mine] == [("連絡 #1", False)]
    everything = cli(month, "tasks", "--all", "--assignee", "佐藤", "--date", "2031-12-05")
    assert [(t["title"], t["status"]) for t in everything] == [
        ("済み", "done"),
        ("連絡 #1", "waiting"),
        ("質問: 駐車場はありますか", "open"),
        ("連絡 #3", "waiting"),
    ]
    code, table = run(month, "tasks", "--date", "2031-12-05")
    assert code == 0 and "期限切れ" in table and "問い合わせ" in table
    with Session(db.make_engine(config.load(month).db_url)) as s:
        morning = due_tasks(s, date(2031, 12, 4))
    assert [(t.kind, t.next_on) for t in morning] == [
        ("note", date(2031, 12, 3)),
        ("inquiry", date(2031, 12, 4)),
    ]
