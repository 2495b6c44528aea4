"""`mailgate shifts`: the week's table, setting a day in the file (its format kept), checking the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mailgate.cli import app
from tests.conftest import write_config
from tests.shop.helpers import SHIFTS_CSV, SHIFTS_TOML, write_shop


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), "shifts", *args])


def test_the_week_shows_each_staff_members_hours_or_休(tmp_path: Path) -> None:
    done = run(write_shop(tmp_path), "--week", "2026-12-03")
    assert done.exit_code == 0, done.output
    header, shop, sato, tanaka = done.stdout.splitlines()
    assert header.split() == [
        "11/30(月)",
        "12/1(火)",
        "12/2(水)",
        "12/3(木)",
        "12/4(金)",
        "12/5(土)",
        "12/6(日)",
    ]
    assert shop.split() == ["営業", "10:00-20:00", "定休日", *["10:00-20:00"] * 3, *["10:00-18:00"] * 2]
    assert sato.split() == [
        "佐藤",
        "10:00-16:00",
        "休",
        "10:00-16:00",
        "13:00-20:00",
        "10:00-16:00",
        "休",
        "休",
    ]
    assert tanaka.split()[4:6] == ["10:00-20:00", "休"]
    # Columns line up on screen: kanji are two cells wide.
    assert len({len(line.split("  ")[0]) for line in (shop, sato, tanaka)}) == 1


def test_the_week_as_json(tmp_path: Path) -> None:
    done = run(write_shop(tmp_path), "--week", "2026-12-06", "--json")
    data = json.loads(done.stdout)
    assert data["days"][0] == "2026-11-30"
    assert data["shop"]["2026-12-01"] is None
    assert data["staff"]["佐藤"]["2026-12-03"] == "13:00-20:00"
    assert data["staff"]["田中"]["2026-12-04"] is None


def test_set_updates_the_dated_row_by_alias_and_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    done = run(config, "set", "さとう", "2026-12-03", "11:00-15:00")
    assert done.exit_code == 0, done.output
    assert "佐藤 2026-12-03 11:00-15:00 (updated)" in done.stdout
    text = (tmp_path / "shifts.csv").read_text(encoding="utf-8")
    assert text == SHIFTS_CSV.replace("2026-12-03,佐藤,13:00,20:00", "2026-12-03,佐藤,11:00,15:00")
    assert run(config, "set", "田中", "2026-12-05", "off").exit_code == 0
    assert (
        (tmp_path / "shifts.csv")
        .read_text(encoding="utf-8")
        .endswith("2026-12-04,田中,off,\n2026-12-05,田中,off,\n")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mailgate.toml", "shifts.csv"]  # no temp files left


def test_set_keeps_an_excel_files_shift_jis_and_crlf(tmp_path: Path) -> None:
    raw = SHIFTS_CSV.replace("\n", "\r\n").encode("cp932")
    config = write_shop(tmp_path, table=raw)
    assert run(config, "set", "田中", "2026-12-07", "12:00-18:00").exit_code == 0
    after = (tmp_path / "shifts.csv").read_bytes()
    assert after == raw + "2026-12-07,田中,12:00,18:00\r\n".encode("cp932")


def test_set_edits_a_toml_table_in_place(tmp_path: Path) -> None:
    config = write_shop(tmp_path, shifts="shifts.toml", table=SHIFTS_TOML)
    assert run(config, "set", "Sato", "2026-12-03", "off").exit_code == 0
    assert run(config, "set", "田中", "2026-12-07", "11:00-19:00").exit_code == 0
    text = (tmp_path / "shifts.toml").read_text(encoding="utf-8")
    assert text.startswith("# the same table as SHIFTS_CSV\n")
    assert 'date = 2026-12-03\nstaff = "佐藤"\noff = true\n\n[[shift]]\ndate = 2026-12-04' in text
    assert text.endswith('[[shift]]\ndate = 2026-12-07\nstaff = "田中"\nstart = "11:00"\nend = "19:00"\n')
    week = json.loads(run(config, "--week", "2026-12-03", "--json").stdout)
    assert week["staff"]["佐藤"]["2026-12-03"] is None
    assert run(config, "check").exit_code == 0


def test_set_a_usual_weekday_and_hear_what_it_means(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    done = run(config, "set", "田中", "sun", "12:00-18:00")
    assert done.exit_code == 0
    assert "田中 now has a usual week" in done.stderr
    week = json.loads(run(config, "--week", "2026-12-03", "--json").stdout)
    assert week["staff"]["田中"]["2026-12-06"] == "12:00-18:00"
    assert week["staff"]["田中"]["2026-11-30"] is None


def test_set_creates_a_missing_table_with_a_header(tmp_path: Path) -> None:
    config = write_shop(tmp_path, table=None)
    assert run(config, "set", "佐藤", "2026-12-03", "10:00-16:00").exit_code == 0
    assert (tmp_path / "shifts.csv").read_text() == "date,staff,start,end\n2026-12-03,佐藤,10:00,16:00\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["山本", "2026-12-03", "off"], "'山本' is not in [shop] staff (known: 佐藤, 田中)"),
        (["佐藤", "12/3", "off"], "expected YYYY-MM-DD or a weekday mon..sun"),
        (["佐藤", "2026-12-03", "16:00-10:00"], "expected START-END such as 10:00-16:00"),
        (["佐藤", "2026-12-03", "朝から"], "expected START-END"),
    ],
)
def test_set_refuses_what_it_cannot_write(tmp_path: Path, args: list[str], message: str) -> None:
    config = write_shop(tmp_path)
    done = run(config, "set", *args)
    assert done.exit_code == 2 and message in done.stderr
    assert (tmp_path / "shifts.csv").read_text(encoding="utf-8") == SHIFTS_CSV


def test_set_without_a_configured_table_says_how_to_configure_one(tmp_path: Path) -> None:
    config = write_shop(tmp_path, shifts=None)
    done = run(config, "set", "佐藤", "2026-12-03", "off")
    assert done.exit_code == 2
    assert 'set [shop] shifts = "shifts.csv"' in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mailgate.toml"]


def test_check_passes_a_good_table(tmp_path: Path) -> None:
    done = run(write_shop(tmp_path), "check")
    assert done.exit_code == 0 and done.stdout.strip() == f"{tmp_path / 'shifts.csv'}: ok"


def test_check_lists_each_mistake_with_file_and_line(tmp_path: Path) -> None:
    bad = SHIFTS_CSV + "\n".join(
        [
            "2026-12-05,山本,10:00,16:00",
            "2026-12-06,田中,18:00,10:00",
            "2026-12-07,田中,9時,18:00",
            "2026-13-01,田中,10:00,18:00",
            "2026-12-04,たなか,10:00,18:00",
            "",
        ]
    )
    config = write_shop(tmp_path, table=bad)
    done = run(config, "check")
    f = tmp_path / "shifts.csv"
    assert done.exit_code == 1
    assert done.stdout.splitlines() == [
        f"{f}:9: staff: '山本' is not in [shop] staff (names and aliases)",
        f"{f}:10: end 10:00 is not after start 18:00",
        f"{f}:11: start: expected HH:MM or off, got '9時'",
        f"{f}:12: date: expected YYYY-MM-DD or a weekday mon..sun, got '2026-13-01'",
        f"{f}:13: 田中 2026-12-04 is already at line 8",
    ]
    # The week cannot be shown from a broken table; it says where to look.
    week = run(config)
    assert week.exit_code == 1 and "shifts check" in week.stderr


def test_check_gives_toml_lines_too(tmp_path: Path) -> None:
    table = SHIFTS_TOML + '\n[[shift]]\ndate = "someday"\nstaff = "田中"\nstart = "10:00"\nend = "18:00"\n'
    done = run(write_shop(tmp_path, shifts="shifts.toml", table=table), "check")
    assert done.exit_code == 1
    assert done.stdout.strip() == (
        f"{tmp_path / 'shifts.toml'}:37: date: expected YYYY-MM-DD or a weekday mon..sun, got 'someday'"
    )


def test_with_no_staff_the_week_shows_the_shop_and_says_why(tmp_path: Path) -> None:
    done = run(write_config(tmp_path))
    assert done.exit_code == 0
    assert "(no staff in [shop] staff" in done.stdout


def test_the_installed_command_line_runs_it(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "mailgate", "--config", str(config), "shifts", "set", "Sato", "mon", "off"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "mon,佐藤,off,\n" in (tmp_path / "shifts.csv").read_text(encoding="utf-8")
