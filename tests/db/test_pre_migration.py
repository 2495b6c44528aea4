"""A database made by mailgate before it had migrations (commit 8356a80: create_all, unnamed
constraints) is refused until `mailgate db upgrade`, which stamps and upgrades it keeping every row,
and then it is the same as one the migrations built."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner, Result

from mailgate import config, db, schema
from mailgate.cli import app
from mailgate.context import Context
from mailgate.models import Customer, ImapState, Message
from tests.conftest import free_port, write_config
from tests.db.helpers import inspected, load_pre_migration, rows


def mailgate(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(cfg), *args])


def without_pins(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {t: [{c: v for c, v in r.items() if c != "pin_hash"} for r in rs] for t, rs in tables.items()}


def test_db_upgrade_keeps_every_row_of_a_database_made_before_migrations(
    tmp_path: Path, empty_db_url: str, dialect: str
) -> None:
    load_pre_migration(empty_db_url)
    engine = db.make_engine(empty_db_url)
    before = rows(engine)
    assert set(before) == schema.PRE_MIGRATION_TABLES and all(before.values()), "a row in every table"
    cfg = write_config(tmp_path / "shop", db_url=empty_db_url)

    done = mailgate(cfg, "db", "upgrade", "--yes")

    assert done.exit_code == 0, done.output
    after = rows(engine)
    # The old columns of every old row (later revisions may add columns); PIN verifiers are keyed
    # (revision 0006, tests/ledger/test_pins.py); `booked` became `confirmed` (revision 0012).
    kept = {t: [{c: r[c] for c in before[t][0]} for r in after[t]] for t in before}
    assert [r["pin_hash"].split("$")[0] for r in kept["customer"]] == ["keyed", ""]
    renamed = [
        {**r, "status": {"booked": "confirmed"}.get(r["status"], r["status"])} for r in before["booking"]
    ]
    assert without_pins(kept) == without_pins({**before, "booking": renamed})
    assert mailgate(cfg, "db", "current").stdout == f"the database is at revision {schema.head()} (head)\n"
    assert schema.check(engine) == []
    if dialect == "sqlite":
        copied = Path(done.stdout.split("copied the database to ", 1)[1].split("\n", 1)[0])
        assert copied.parent == tmp_path / "shop" / "var" / "backups" and copied.name.startswith(
            "mailgate-unstamped-"
        )
        assert stat.S_IMODE(copied.stat().st_mode) == 0o600
        assert rows(db.make_engine(f"sqlite:///{copied}")) == before

    ctx = Context.build(config.load(cfg))
    with db.transaction(ctx.engine) as s:
        assert s.exec(select(ImapState)).one().last_uid == 4_294_967_295
        blank = s.exec(select(Message).where(Message.via == "smtp")).one()
        assert blank.decision is not None and blank.decision["action"] == "register"
        new = Customer(email="new@example.jp", email_key="new@example.jp")
        s.add(new)
        s.flush()
        assert new.id == 3, "ids go on after the old rows"


def test_a_database_made_before_migrations_ends_the_same_as_one_the_migrations_built(
    empty_db_url: str, db_url: str
) -> None:
    load_pre_migration(empty_db_url)
    old = db.make_engine(empty_db_url)
    assert schema.upgrade(old, pin_key=("k1", b"key")) == (schema.UNSTAMPED, schema.head())
    assert inspected(old) == inspected(db.make_engine(db_url))


def test_commands_refuse_a_database_made_before_migrations_and_change_nothing(
    tmp_path: Path, empty_db_url: str
) -> None:
    load_pre_migration(empty_db_url)
    cfg = write_config(tmp_path / "shop", db_url=empty_db_url)

    done = mailgate(cfg, "messages")

    assert done.exit_code == 1
    assert "the tables of mailgate before migrations" in done.stderr
    assert "run `mailgate db upgrade`" in done.stderr
    assert schema.current(db.make_engine(empty_db_url)) == schema.UNSTAMPED


@pytest.mark.e2e
def test_serve_refuses_a_database_made_before_migrations(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, database=False)
    load_pre_migration(f"sqlite:///{tmp_path / 'var' / 'mailgate.db'}")

    smtp, http = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "mailgate", "--config", str(cfg), "serve", "--smtp", smtp, "--http", http],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1, done.stderr
    assert "Back it up, then run `mailgate db upgrade`." in done.stderr
