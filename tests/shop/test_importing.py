"""The calendar moves into the database: imported once on a database's first use (the config's [shop],
or the sample shop for the demo), again only by `mailgate shop import`; serve names the differences."""

from __future__ import annotations

import threading
from datetime import date, time
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from mailgate import config
from mailgate.cli import app
from mailgate.context import Context
from mailgate.shop import importing
from mailgate.shop_tables import MenuItem, ShopSetting, StaffMember
from tests.conftest import write_config
from tests.shop.helpers import write_shop


def names(ctx: Context, model: type) -> list[str]:
    with Session(ctx.engine) as s:
        return [r.name for r in s.exec(select(model).where(model.active).order_by(model.position))]


def test_a_databases_first_use_imports_the_configs_shop_once(tmp_path: Path) -> None:
    path = write_shop(tmp_path)
    ctx = Context.build(config.load(path))
    assert names(ctx, StaffMember) == ["佐藤", "田中"]
    assert names(ctx, MenuItem) == ["整体 60分コース", "整体 90分コース", "骨盤矯正"]
    cal = ctx.calendar
    assert cal.opening(date(2026, 12, 1)) is None and cal.is_holiday(date(2026, 12, 31))
    assert cal.shift("佐藤", date(2026, 12, 3)) == (time(13), time(20))

    path.write_text(
        path.read_text(encoding="utf-8").replace('{ name = "田中"', '{ name = "山本"'), encoding="utf-8"
    )
    again = Context.build(config.load(path))  # a restart with an edited config: the database counts
    assert names(again, StaffMember) == ["佐藤", "田中"]
    with Session(again.engine) as s:
        drift = importing.differences(s, again.cfg.shop)
    assert "staff 山本: in [shop] staff, not in the database" in drift
    assert "staff 田中: in the database, not in [shop] staff" in drift


def test_shop_import_makes_the_database_the_configs_and_dry_run_changes_nothing(tmp_path: Path) -> None:
    path = write_shop(tmp_path, shifts=None)
    Context.build(config.load(path))
    path.write_text(
        path.read_text(encoding="utf-8").replace('{ name = "田中"', '{ name = "山本"'), encoding="utf-8"
    )
    dry = CliRunner().invoke(app, ["--config", str(path), "shop", "import", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "staff 山本: added" in dry.stdout and "(dry run: nothing changed)" in dry.stdout
    ctx = Context.build(config.load(path))
    assert names(ctx, StaffMember) == ["佐藤", "田中"]
    done = CliRunner().invoke(app, ["--config", str(path), "shop", "import"])
    assert "staff 田中: not in [shop] staff, no longer shown (kept for the ledger)" in done.stdout
    assert names(ctx, StaffMember) == ["佐藤", "山本"]
    assert ctx.calendar.staff == ("佐藤", "山本")  # a running node sees it at once


def test_the_demo_without_a_config_file_gets_the_sample_shop(tmp_path: Path) -> None:
    ctx = Context.build(config.load(var=str(tmp_path / "var")))
    assert ctx.cfg.source is None
    assert ctx.calendar.staff == ("佐藤", "田中") and len(ctx.calendar.menus) == 3
    assert ctx.calendar.opening(date(2026, 12, 1)) is None  # closed on Tuesdays


def test_a_config_without_staff_leaves_the_calendar_to_the_database(tmp_path: Path) -> None:
    ctx = Context.build(config.load(write_config(tmp_path)))
    assert ctx.calendar.staff == ()
    with Session(ctx.engine) as s:
        assert s.get(ShopSetting, importing.IMPORTED) is not None
        assert importing.differences(s, ctx.cfg.shop) == []


def test_nodes_starting_at_once_import_once(tmp_path: Path, db_url: str) -> None:
    path = write_shop(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + f'\n[db]\nurl = "{db_url}"\n', encoding="utf-8")
    cfg = config.load(path)
    from mailgate import db

    engine = db.make_engine(cfg.db_url)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(importing.ensure_imported(engine, cfg)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r is not None for r in results) == 1
    with Session(engine) as s:
        assert len(list(s.exec(select(StaffMember)))) == 2
    engine.dispose()


def test_japanese_public_holidays_count_when_the_shop_keeps_them(tmp_path: Path) -> None:
    kept = write_shop(tmp_path / "kept", shifts=None)
    kept.write_text(
        kept.read_text(encoding="utf-8").replace("[shop]\n", '[shop]\npublic_holidays = "holiday"\n', 1),
        encoding="utf-8",
    )
    labour_day = date(2026, 11, 23)  # 勤労感謝の日, a Monday
    assert Context.build(config.load(kept)).calendar.opening(labour_day) is None  # no holiday hours: closed
    usual = Context.build(config.load(write_shop(tmp_path / "usual", shifts=None))).calendar
    assert usual.opening(labour_day) == (time(10), time(20))
