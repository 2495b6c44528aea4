"""`mailgate import`: each bad row named by its line and reason and nothing written unless the good
rows are asked for (--skip-bad); another system's export (Japanese headers, cp932, its own date
format) through a column map, a clash recorded as a conflict rather than refused, the operator's
name on the import's events; the same file twice changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.models import Booking, Conflict, Customer, Event
from tests.exchange.shop import run

HEADER = "source,external_id,start,staff,menu,customer_name,customer_kana,customer_phone,customer_email\n"
WED = "2032-02-04"  # a Wednesday after the month: every staff member's time is free


def imported(cfg: Path, source: str) -> list[Booking]:
    with Session(db.make_engine(config.load(cfg).db_url)) as s:
        return list(s.exec(select(Booking).where(Booking.source == source).order_by(col(Booking.id))))


def test_bad_rows_are_each_named_and_nothing_is_imported_unless_asked(month: Path, tmp_path: Path) -> None:
    file = tmp_path / "bookings.csv"
    file.write_text(
        HEADER
        + f"old,A1,{WED} 10:00,佐藤 先生,整体60分,山田花子,やまだはなこ,090-1234-5678,\n"
        + "old,A2,2032-13-01 10:00,佐藤,整体60分,山田花子,,09012345678,\n"
        + f"old,A3,{WED} 11:00,佐藤,カット,山田花子,,09012345678,\n"
        + f"old,A4,{WED} 12:00,山田,整体60分,山田花子,,09012345678,\n"
        + f"old,A5,{WED} 14:00,佐藤,整体60分,,,,\n"
        + f"old,A6,{WED} 15:00,佐藤,整体60分,鈴木一郎,,12345,\n"
        + f"old,A7,{WED} 16:00,佐藤,整体60分,鈴木一郎,,,hanako@\n"
        + f"old,A1,{WED} 10:00,佐藤,整体60分,山田花子,,09012345678,\n"
        + f"old,A8,{WED} 17:00,指名なし,矯正,鈴木一郎,スズキイチロウ,,ichiro@example.jp\n",
        encoding="utf-8",
    )
    code, _, err = run(month, "import", "bookings", str(file))
    assert code == 1 and imported(month, "old") == []
    lines = err.splitlines()
    assert lines[0] == f"{file}: 7 of 9 rows are bad; nothing imported (all or nothing)"
    assert [line.split(":")[0] for line in lines[1:-1]] == [f"line {n}" for n in range(3, 10)]
    assert "bad start '2032-13-01 10:00'" in lines[1] and "unknown menu 'カット'" in lines[2]
    assert "unknown staff '山田'" in lines[3] and "no customer" in lines[4]
    assert "bad customer_phone '12345'" in lines[5] and "bad customer_email 'hanako@'" in lines[6]
    assert lines[7] == "line 9: the same booking as line 2" and "--skip-bad" in lines[-1]

    code, out, _ = run(month, "import", "bookings", str(file), "--skip-bad", "--json")
    report = json.loads(out)
    assert (code, report["created"], [b["line"] for b in report["bad"]]) == (0, 2, list(range(3, 10)))
    booked = imported(month, "old")
    assert [(b.external_id, b.staff, b.menu, b.status) for b in booked] == [
        ("A1", "佐藤", "整体 60分コース", "confirmed"),
        ("A8", None, "骨盤矯正", "confirmed"),
    ]


FOREIGN = """予約番号,予約日,開始時刻,終了時刻,お客様名,フリガナ,電話番号,メニュー,担当,備考
R-1001,2032/02/04,10:00,11:00,髙橋 一郎,たかはし いちろう,090-1234-5678,整体60分,佐藤 先生,=1+1 初回
R-1002,2031/12/03,{clash},,山田 花子,ヤマダ ハナコ,080-2222-3333,整体30分,佐藤,
"""
MAP = """source = "oldsalon"
encoding = "cp932"
date_format = "%Y/%m/%d"
time_format = "%H:%M"

[columns]
external_id = "予約番号"
date = "予約日"
start_time = "開始時刻"
end_time = "終了時刻"
customer_name = "お客様名"
customer_kana = "フリガナ"
customer_phone = "電話番号"
menu = "メニュー"
staff = "担当"
note = "備考"
"""


def test_another_systems_cp932_export_comes_in_through_a_column_map(month: Path, tmp_path: Path) -> None:
    zone = config.load(month).tz
    day = datetime(2031, 12, 3, tzinfo=zone)
    with Session(db.make_engine(config.load(month).db_url)) as s:
        taken = s.exec(
            select(Booking)
            .where(Booking.staff == "佐藤", Booking.status == "confirmed", col(Booking.start) > day)
            .order_by(col(Booking.start))
        ).first()
    assert taken is not None and taken.start < day + timedelta(days=1)
    clash = f"{taken.start.astimezone(zone):%H:%M}"
    file, mapping = tmp_path / "予約一覧.csv", tmp_path / "oldsalon.toml"
    file.write_bytes(FOREIGN.format(clash=clash).encode("cp932"))
    mapping.write_text(MAP, encoding="utf-8")
    args = ("import", "bookings", str(file), "--map", str(mapping), "--as", "受付", "--json")

    tried = json.loads(run(month, *args, "--dry-run")[1])
    assert (tried["created"], [c["line"] for c in tried["conflicts"]]) == (2, [3])
    assert imported(month, "oldsalon") == []  # a dry run writes nothing

    done = [json.loads(run(month, *args)[1]) for _ in range(2)]
    assert [(d["created"], d["unchanged"], len(d["conflicts"])) for d in done] == [(2, 0, 1), (0, 2, 0)]
    first, second = imported(month, "oldsalon")
    with Session(db.make_engine(config.load(month).db_url)) as s:
        customer = s.get(Customer, first.customer_id)
        assert customer is not None
        who = (customer.name, customer.name_kana, customer.phone)
        assert who == ("髙橋一郎", "タカハシイチロウ", "09012345678")
        assert s.exec(select(Conflict).where(Conflict.booking_id == second.id)).first() is not None
        actors = {e.actor for e in s.exec(select(Event).where(Event.kind == "csv_imported"))}
    assert actors == {"operator:受付"}
    what = (first.external_id, first.staff, first.menu, first.note)
    assert what == ("R-1001", "佐藤", "整体 60分コース", "=1+1 初回")
    assert f"{first.end.astimezone(zone):%Y-%m-%d %H:%M}" == "2032-02-04 11:00"
