"""`mailgate db upgrade|current|check`: what the operator sees for each state of the database."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from mailgate import db, schema
from mailgate.cli import app
from tests.conftest import write_config


def mailgate(cfg: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--config", str(cfg), *args], input=input)


def test_a_database_at_head_is_current_and_checks_clean(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url=db_url)

    assert mailgate(cfg, "db", "current").stdout == f"the database is at revision {schema.head()} (head)\n"
    done = mailgate(cfg, "db", "check")
    assert done.exit_code == 0, done.output
    assert "its tables match the models" in done.stdout
    done = mailgate(cfg, "db", "upgrade")
    assert (done.exit_code, done.stdout) == (0, f"the database is at revision {schema.head()} (head)\n")


def test_db_check_exits_1_naming_what_differs(tmp_path: Path, db_url: str) -> None:
    with db.make_engine(db_url).begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_booking_start")

    done = mailgate(write_config(tmp_path, db_url=db_url), "db", "check")

    assert done.exit_code == 1
    assert done.stdout == "in the models, not in the database: index ix_booking_start on booking\n"


def test_db_upgrade_creates_an_empty_database_at_head(tmp_path: Path, empty_db_url: str) -> None:
    cfg = write_config(tmp_path, db_url=empty_db_url)
    assert mailgate(cfg, "db", "check").exit_code == 1

    done = mailgate(cfg, "db", "upgrade")

    assert done.exit_code == 0, done.output
    assert done.stdout == f"the database is empty\nupgraded to revision {schema.head()} (head)\n"
    assert not (tmp_path / "var" / "backups").exists(), "nothing to back up"
    assert mailgate(cfg, "db", "check").exit_code == 0


def test_commands_refuse_an_older_revision_until_db_upgrade(
    tmp_path: Path, empty_db_url: str, dialect: str
) -> None:
    schema.upgrade(db.make_engine(empty_db_url), schema.FIRST)
    cfg = write_config(tmp_path, db_url=empty_db_url)

    refused = mailgate(cfg, "bookings", "--all")
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"the database is at revision {schema.FIRST}; this mailgate needs revision {schema.head()}.\n"
        "Back it up, then run `mailgate db upgrade`.\n"
    )
    assert mailgate(cfg, "db", "current").stdout == refused.stderr

    if dialect == "postgresql":
        asked = mailgate(cfg, "db", "upgrade", input="n\n")
        assert asked.exit_code == 1 and "take one first, e.g.\n  pg_dump -Fc" in asked.stdout
        assert schema.current(db.make_engine(empty_db_url)) == schema.FIRST, "answered no: nothing done"
        done = mailgate(cfg, "db", "upgrade", input="y\n")
    else:
        done = mailgate(cfg, "db", "upgrade")
        [backup] = (tmp_path / "var" / "backups").iterdir()
        assert f"copied the database to {backup}\n" in done.stdout
        assert backup.name.startswith(f"mailgate-{schema.FIRST}-")

    assert done.exit_code == 0, done.output
    assert done.stdout.endswith(f"upgraded to revision {schema.head()} (head)\n")
    assert mailgate(cfg, "bookings", "--all").exit_code == 0
