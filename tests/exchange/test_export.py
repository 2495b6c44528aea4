"""`mailgate export` for Excel in Japan: cp932 on request, and what cp932 cannot hold (𠮷, an emoji)
neither crashes the export nor goes missing silently."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from mailgate import config, db
from mailgate.models import Customer
from tests.exchange.shop import run


def test_cp932_writes_geta_for_what_it_cannot_hold_and_says_which_cells(month: Path, tmp_path: Path) -> None:
    with db.transaction(db.make_engine(config.load(month).db_url)) as s:
        first = s.exec(select(Customer).order_by(Customer.id)).first()  # type: ignore[arg-type]
        assert first is not None
        first.name, first.memo = "𠮷田髙子", "よろしく😀"  # 髙 is in cp932 (an IBM extension), 𠮷 is not
    old, new = tmp_path / "old-excel.csv", tmp_path / "utf8.csv"

    code, out, err = run(month, "export", "customers", "--encoding", "cp932", "--csv", str(old))
    assert (code, out.strip()) == (0, f"wrote 250 customers to {old} (cp932)")
    text = old.read_bytes().decode("cp932")  # strictly: every byte is cp932
    assert text.splitlines()[1].split(",")[2:7:4] == ["〓田髙子", "よろしく〓"]
    assert err.splitlines() == [
        "cp932 cannot hold 2 cell(s); written with 〓 in their place:",
        "  row 2 name: 𠮷 -> 〓",
        "  row 2 memo: 😀 -> 〓",
        "use --encoding utf-8-sig (the default) to keep every character",
    ]

    assert run(month, "export", "customers", "--csv", str(new))[::2] == (0, "")
    assert "𠮷田髙子" in new.read_text(encoding="utf-8-sig")


def test_a_day_that_is_no_day_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "mailgate.toml", "export", "bookings", "--from", "2031-12-32")
    assert (code, err.strip()) == (2, "--from: expected a day like 2031-12-01, got '2031-12-32'")
