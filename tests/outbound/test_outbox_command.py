"""`mailgate outbox`: who is sending a row and until when, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from mailgate import config, db
from mailgate.cli import app
from mailgate.context import Context
from mailgate.models import Outbox, OutboxState
from tests.conftest import write_config

OWNER = "sender@node-b/4242/c0ffee"


def run(cfg_path: Path, *args: str) -> str:
    done = CliRunner().invoke(app, ["--config", str(cfg_path), "outbox", *args])
    assert done.exit_code == 0, done.output
    return done.stdout


def test_sending_rows_show_their_owner_and_lease_in_the_shops_zone(tmp_path: Path, db_url: str) -> None:
    cfg_path = write_config(tmp_path / "shop", db_url=db_url)
    engine = Context.build(config.load(cfg_path)).engine
    with db.transaction(engine) as s:
        for n, state in enumerate((OutboxState.QUEUED, OutboxState.SENDING)):
            claim = {"claimed_by": OWNER, "lease_until": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)}
            s.add(
                Outbox(
                    to_addr=f"c{n}@example.jp",
                    to_key=f"c{n}@example.jp",
                    template="test",
                    subject=f"件名{n}",
                    body="本文",
                    header_message_id=f"m{n}@shop.example",
                    state=state,
                    **(claim if state == OutboxState.SENDING else {}),  # type: ignore[arg-type]
                )
            )
    engine.dispose()

    [line] = [row for row in run(cfg_path, "--state", "sending").splitlines() if "c1@example.jp" in row]
    assert "sending" in line and f"{OWNER} until 2030-01-02 12:04:05" in line  # Asia/Tokyo
    assert "times in Asia/Tokyo" in run(cfg_path, "--state", "sending")
    assert OWNER not in run(cfg_path, "--state", "queued")

    [row] = json.loads(run(cfg_path, "--state", "sending", "--json"))
    assert (row["claimed_by"], row["lease_until"]) == (OWNER, "2030-01-02 03:04:05+00:00")
