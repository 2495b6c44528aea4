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


def test_set_a_day_by_alias_in_the_database(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    done = run(config, "set", "さとう", "2026-12-03", "off")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "佐藤 2026-12-03 off (updated)"
    assert (
        json.loads(run(config, "--week", "2026-12-03", "--json").stdout)["staff"]["佐藤"]["2026-12-03"]
        is None
    )
    done = run(config, "set", "Sato", "2026-12-05", "22:00-02:00", "--as", "店長")  # a late shift
    assert done.stdout.startswith("佐藤 2026-12-05 22:00-02:00 (added)")
    assert "the shop is closed" not in done.stderr
    events = json.loads(
        CliRunner().invoke(app, ["--config", str(config), "audit", "--operator", "店長", "--json"]).stdout
    )
    assert [(e["kind"], e["detail"]["day"], e["detail"]["hours"]) for e in events] == [
        ("shift_set", "2026-12-05", "22:00-02:00")
    ]


def test_set_a_usual_weekday_and_hear_what_it_means(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    done = run(config, "set", "田中", "tue", "10:00-16:00")
    assert done.exit_code == 0
    assert "田中 now has a usual week: weekdays without a row are days off" in done.stderr
    assert "the shop is closed that day" in done.stderr  # Tuesday is 定休日: said, not refused


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["山本", "2026-12-03", "10:00-16:00"], 1, "'山本' is not a staff member (known: 佐藤, 田中)"),
        (["佐藤", "someday", "10:00-16:00"], 2, "'someday': expected YYYY-MM-DD or a weekday mon..sun"),
        (["佐藤", "2026-12-03", "10:00-10:00"], 2, "expected START-END such as 10:00-16:00"),
    ],
)
def test_set_refuses_what_it_cannot_set(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    """Someone not on the staff is not found (1); a day or hours written wrong is usage (2)."""
    done = run(write_shop(tmp_path), "set", *args)
    assert done.exit_code == code and message in done.stderr


def test_check_says_ok_and_lists_shifts_the_shops_hours_do_not_hold(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    assert run(config, "check").stdout.strip() == "shifts: ok"
    run(config, "set", "佐藤", "mon", "08:00-16:00")
    done = run(config, "check")
    assert done.exit_code == 1
    assert "佐藤 08:00-16:00: beyond the shop's hours 10:00-20:00" in done.stdout


def test_import_replaces_the_shifts_and_export_writes_what_import_reads(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    table = tmp_path / "new.toml"
    table.write_text(SHIFTS_TOML, encoding="utf-8")
    done = run(config, "import", str(table))
    assert done.exit_code == 0, done.output
    for name in ("back.csv", "back.toml"):
        out = tmp_path / name
        assert run(config, "export", str(out)).exit_code == 0
        assert run(config, "import", str(out), "--dry-run").stdout.endswith(
            "ok (nothing changed: --dry-run)\n"
        )
    assert "2026-12-04,田中,off," in (tmp_path / "back.csv").read_text(encoding="utf-8")


def test_import_lists_each_mistake_with_file_and_line_and_changes_nothing(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    before = run(config, "--week", "2026-12-03", "--json").stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(SHIFTS_CSV + "2026-12-05,山本,10:00,16:00\nmon,佐藤,25:00,xx\n", encoding="utf-8")
    done = run(config, "import", str(bad))
    assert done.exit_code == 1
    assert f"{bad}:9: staff: '山本' is not in [shop] staff" in done.stderr
    assert f"{bad}:10: start: expected HH:MM or off, got '25:00'" in done.stderr
    assert run(config, "--week", "2026-12-03", "--json").stdout == before


def test_with_no_staff_the_week_shows_the_shop_and_says_why(tmp_path: Path) -> None:
    done = run(write_config(tmp_path), "--week", "2026-12-03")
    assert done.exit_code == 0
    assert "(no staff yet: add them with `mailgate shop import` from [shop] staff)" in done.stdout


def test_the_installed_command_line_runs_it(tmp_path: Path) -> None:
    config = write_shop(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "mailgate", "--config", str(config), "shifts", "set", "Sato", "mon", "off"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "佐藤 mon off (updated)" in done.stdout
