"""mailgate's own export imports as it is: customers and bookings exported from the generated month,
imported into a fresh ledger of the same shop, export again as the same rows (but for the database's
own ids and the time of the import); importing them a second time changes nothing."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from sqlmodel import Session, func, select

from mailgate import config, db
from mailgate.exchange.csv_export import BOOKINGS
from mailgate.models import Booking, Customer, Event
from tests.e2e.helpers import cli
from tests.exchange.shop import fresh_shop, run

DAYS = ("--from", "2031-12-01", "--to", "2031-12-01")
OWN_IDS = {"booking_id", "customer_id", "updated_at"}  # the database's own, and when it was written
FORMULA = "=cmd|' /C calc'!A0"  # would run in a spreadsheet


def table(data: bytes) -> list[dict[str, str]]:
    """The rows of an export as Excel in Japan needs it (BOM, CRLF), without the database's ids."""
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert text.count("\r\n") == text.count("\n")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return [{k: v for k, v in row.items() if k not in OWN_IDS} for row in rows]


def export(cfg: Path, where: Path) -> tuple[bytes, bytes]:
    """(customers written to standard output, a day of bookings written to a file)."""
    code, _, err = run(cfg, "export", "bookings", *DAYS, "--csv", str(where))
    assert code == 0, err
    from typer.testing import CliRunner

    from mailgate.cli import app

    customers = CliRunner().invoke(app, ["--config", str(cfg), "export", "customers"])
    assert customers.exit_code == 0, customers.stderr
    return customers.stdout_bytes, where.read_bytes()


def counts(cfg: Path) -> tuple[int, int]:
    with Session(db.make_engine(config.load(cfg).db_url)) as s:
        return (
            s.exec(select(func.count()).select_from(Booking)).one(),
            s.exec(select(func.count()).select_from(Customer)).one(),
        )


def test_an_export_imported_into_a_fresh_ledger_exports_as_the_same_rows(
    month: Path, tmp_path: Path, empty_db_url: str
) -> None:
    with db.transaction(db.make_engine(config.load(month).db_url)) as s:
        first = s.exec(select(Customer).order_by(Customer.id)).first()  # type: ignore[arg-type]
        booking = s.exec(select(Booking).order_by(Booking.start)).first()  # type: ignore[arg-type]
        assert first is not None and booking is not None
        first.memo, booking.note = FORMULA, "-1000円 割引"
    customers, bookings = export(month, tmp_path / "bookings.csv")
    assert bookings.decode("utf-8-sig").split("\r\n")[0] == ",".join(BOOKINGS)
    assert f"'{FORMULA}" in customers.decode("utf-8-sig")  # neutralized in the file
    rows = table(bookings)
    assert len(rows) == 40 and rows[0]["note"] == "'-1000円 割引"
    assert rows[0]["start"] == "2031-12-01T10:00:00+09:00"  # the shop's zone, with its offset

    fresh = fresh_shop(tmp_path / "fresh", empty_db_url)
    (tmp_path / "customers.csv").write_bytes(customers)
    imported = [
        (
            cli(fresh, "import", "customers", str(tmp_path / "customers.csv"), "--as", "受付"),
            cli(fresh, "import", "bookings", str(tmp_path / "bookings.csv"), "--as", "受付"),
        )
        for _ in range(2)  # the second time changes nothing
    ]
    again_customers, again_bookings = export(fresh, tmp_path / "again.csv")
    assert table(again_customers) == table(customers)
    assert table(again_bookings) == rows
    assert counts(fresh) == (len(rows), 250)
    summary = [(c["created"], c["unchanged"], b["created"], b["unchanged"]) for c, b in imported]
    assert summary == [(250, 0, len(rows), 0), (0, 250, 0, len(rows))]
    assert imported[0][1]["conflicts"] == [] and imported[0][1]["bad"] == []
    with Session(db.make_engine(config.load(fresh).db_url)) as s:
        imports = s.exec(select(Event).where(Event.kind == "csv_imported").order_by(Event.id)).all()  # type: ignore[arg-type]
    assert [(e.actor, e.detail["what"], e.detail["created"]) for e in imports[:2]] == [
        ("operator:受付", "customers", 250),
        ("operator:受付", "bookings", len(rows)),
    ]
