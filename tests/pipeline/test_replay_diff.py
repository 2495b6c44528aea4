"""`mailgate replay` tries a rules change before it is installed (--rules DIR, a dry run) and shows
each message's reading then and now as a diff, on SQLite and PostgreSQL; once installed, an applied
notice read differently is left for the operator and counted, never applied over or passed over;
--since/--until choose by the received time in the shop's zone."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mailgate import config
from tests.cli.test_ledger_cli import AUTHN, SHOP, ingest, run
from tests.conftest import CORPUS, write_config
from tests.e2e.helpers import cli

THEN = "book stores #87246923 12-03 13:00-14:00 整体 60分コース 佐藤 山田太郎"
NOW = "book stores #87246923 12-03 13:00-14:00 整体 60分コース 指名なし 山田太郎"


def rules_without_staff(cfg: Path, where: Path) -> Path:
    """A copy of the shop's rules whose STORES notices no longer read the staff (its label changed)."""
    shutil.copytree(config.load(cfg).rules_dir, where, ignore=shutil.ignore_patterns("__*"))
    stores = where / "stores.toml"
    text = stores.read_text(encoding="utf-8")
    changed = text.replace('staff = ["担当スタッフ", "担当者", "スタッフ"]', 'staff = ["担当の先生"]')
    assert changed != text
    stores.write_text(changed, encoding="utf-8")
    return where


def test_a_rules_copy_is_tried_on_a_day_of_messages_and_the_difference_left_to_the_operator(
    tmp_path: Path, db_url: str
) -> None:
    cfg = write_config(tmp_path / "shop", AUTHN, shop=SHOP, db_url=db_url)
    ingest(cfg, tmp_path, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    [msg] = cli(cfg, "messages")
    received = datetime.fromisoformat(msg["received_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    day = received.date().isoformat()  # the shop's day: --since/--until are in its zone
    rules = rules_without_staff(cfg, tmp_path / "rules-new")

    [same] = cli(cfg, "replay", "--since", day, "--until", day, "--dry-run")
    assert (same["then_reading"], same["now_reading"], same["differs"]) == (THEN, THEN, False)

    [tried] = cli(cfg, "replay", "--since", day, "--until", day, "--dry-run", "--rules", str(rules))
    assert (tried["then_reading"], tried["now_reading"], tried["differs"]) == (THEN, NOW, True)
    assert tried["now"]["tag"] == "differs" and not tried["applied"]
    said = run(cfg, "replay", "--since", day, "--dry-run", "--rules", str(rules))
    assert said.returncode == 0 and f"  - {THEN}\n" in said.stdout and f"  + {NOW}\n" in said.stdout
    assert "1 messages checked (dry run: nothing changed); 1 differences" in said.stdout

    next_day = (received + timedelta(days=1)).date().isoformat()
    assert cli(cfg, "replay", "--since", next_day, "--dry-run") == []
    earlier = (received - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert cli(cfg, "replay", "--until", earlier, "--dry-run") == []
    assert run(cfg, "replay", "--since", day, "--rules", str(rules)).returncode == 2  # not applied untried
    assert run(cfg, "replay", "--since", "03/12", "--dry-run").returncode == 2

    # Installed: replaying leaves the booking and the message as they were, and says so.
    text = cfg.read_text(encoding="utf-8").replace('var = "var"\n', f'var = "var"\nrules = "{rules}"\n', 1)
    cfg.write_text(text, encoding="utf-8")
    [left] = cli(cfg, "replay", str(msg["id"]))
    assert left["differs"] and left["now"]["tag"] == "differs" and left["now"]["state"] == "applied"
    [booking] = cli(cfg, "bookings", "--all")
    assert booking["staff"] == "佐藤"
    [again] = cli(cfg, "replay", str(msg["id"]), "--dry-run")
    assert again["then_reading"] == THEN and again["differs"]  # still there for the operator
    audit = run(cfg, "audit", "--message", str(msg["id"]))
    assert "message_replay_differs" in audit.stdout
