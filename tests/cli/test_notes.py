"""Operators' notes and saved phrases — `mailgate note`, `notes set`, `phrases` — on SQLite and
PostgreSQL: a note written from a phrase on a customer named by phone, changed by another operator,
every change in the audit with the operator's name; mistakes refused with what to do."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.ledger import notes
from mailgate.models import Event
from tests.cli.test_desk import PHONE, customer_id, run, shop  # noqa: F401  (the fixture)
from tests.e2e.helpers import cli


def _events(cfg: Path, kind: str) -> list[Event]:
    with Session(db.make_engine(config.load(cfg).db_url)) as s:
        return list(s.exec(select(Event).where(Event.kind == kind).order_by(col(Event.id))))


def test_a_note_from_a_saved_phrase_is_written_changed_and_audited_with_the_operators(shop: Path) -> None:  # noqa: F811
    code, said = run(
        shop, "phrases", "add", "recall", "--title", "折り返し電話", "--body", "夕方以降", "--as", "佐藤"
    )
    assert code == 0, said
    assert [p["name"] for p in cli(shop, "phrases", "list")] == ["recall"]
    written = cli(
        shop,
        "note",
        PHONE,
        "--phrase",
        "recall",
        "--assignee",
        "田中",
        "--next",
        "2031-12-05",
        "--as",
        "佐藤",
    )
    assert written | {"id": 0, "created_at": "", "updated_at": ""} == written | {
        "id": 0,
        "customer_id": customer_id(shop),
        "title": "折り返し電話",
        "body": "夕方以降",
        "status": "waiting",
        "status_label": "対応待ち",
        "assignee": "田中",
        "next_on": "2031-12-05",
        "created_by": "佐藤",
        "updated_by": "佐藤",
        "created_at": "",
        "updated_at": "",
    }
    done = cli(shop, "notes", "set", str(written["id"]), "--status", "完了", "--no-next", "--as", "田中")
    assert (done["status"], done["status_label"], done["next_on"], done["updated_by"]) == (
        "done",
        "完了",
        None,
        "田中",
    )
    added, changed = _events(shop, "note_added"), _events(shop, "note_changed")
    assert [(e.actor, e.customer_id, e.detail["note_id"]) for e in added] == [
        ("operator:佐藤", customer_id(shop), written["id"])
    ]
    assert [(e.actor, e.detail["changes"]) for e in changed] == [
        ("operator:田中", {"status": ["waiting", "done"], "next_on": ["2031-12-05", None]})
    ]
    assert [e.actor for e in _events(shop, "phrase_added")] == ["operator:佐藤"]
    assert run(shop, "phrases", "remove", "recall")[0] == 0
    assert cli(shop, "phrases", "list") == []


def test_note_bulk_writes_one_note_on_each_customer_a_search_finds_and_it_follows_a_merge(
    shop: Path,  # noqa: F811
) -> None:
    """`note --bulk` with the search of `customers search`: a dry run names them and writes nothing;
    then each found customer gets the note once, with its own audit event; a merge takes it along."""
    from mailgate.models import Customer, utcnow

    found = ("note", "--bulk", "--phone", "080-1111-2222", "--title", "年末のご案内")
    dry = cli(shop, *found, "--dry-run")
    assert len(dry["customers"]) == 2 and dry["written"] is False and _events(shop, "note_added") == []
    done = cli(shop, *found, "--as", "佐藤")
    assert done == {"customers": dry["customers"], "written": True}
    assert [e.customer_id for e in _events(shop, "note_added")] == dry["customers"]
    assert {e.actor for e in _events(shop, "note_added")} == {"operator:佐藤"}
    code, said = run(shop, "note", "--bulk", "--name", "誰もいない", "--title", "x")
    assert code == 0 and "nobody: the search found no customer" in said

    with db.transaction(db.make_engine(config.load(shop).db_url)) as s:  # repeats once, unknown skipped
        ids = list(s.exec(select(Customer.id)))
        made = notes.add_note_to_many(
            s, [ids[0], ids[0], 999], notes.NoteText("来店"), operator="x", now=utcnow()
        )
        assert [n.customer_id for n in made] == [ids[0]]
    merged = cli(shop, "customers", "merge", str(dry["customers"][0]), str(dry["customers"][1]))
    assert merged["moved"]["customer_note"] == 1, "a merged customer's notes go with them"


def test_note_mistakes_are_refused_with_what_to_do(shop: Path) -> None:  # noqa: F811
    cases = {
        ("note", "09099999999", "--title", "x"): (1, "no customer"),
        ("note", PHONE, "--title", "x", "--status", "later"): (1, "対応待ち"),
        ("note", PHONE, "--title", "x", "--next", "12/5"): (2, "expected a date like"),
        ("note", PHONE, "--phrase", "nothing"): (1, "mailgate phrases list"),
        ("note", PHONE): (1, "needs a title"),
        ("notes", "set", "999", "--status", "done"): (1, "no note 999"),
        ("phrases", "remove", "nothing"): (1, "no phrase"),
        ("note", PHONE, "--bulk", "--name", "山田", "--title", "x"): (2, "name one CUSTOMER, or give --bulk"),
        ("note", "--bulk", "--title", "x"): (2, "they choose the customers of --bulk"),
        ("note", PHONE, "--name", "山田", "--title", "x"): (2, "they choose the customers of --bulk"),
    }
    for args, (code, words) in cases.items():
        got, said = run(shop, *args)
        assert (got, words in said) == (code, True), (args, said)
    assert _events(shop, "note_added") == []
