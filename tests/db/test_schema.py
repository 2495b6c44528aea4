"""The schema's revision: a new database is built by the migrations, an older one is refused until it
is upgraded, two processes never build one twice, and `check` finds what differs from the models."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from mailgate import config, db, schema
from mailgate.context import Context
from tests.conftest import write_config
from tests.db.helpers import load_pre_migration, rows


def test_a_new_database_is_built_by_the_migrations_at_head(tmp_path: Path, empty_db_url: str) -> None:
    ctx = Context.build(config.load(write_config(tmp_path / "shop", db_url=empty_db_url)))

    assert schema.current(ctx.engine) == schema.head()
    assert set(sa.inspect(ctx.engine).get_table_names()) == {*SQLModel.metadata.tables, "alembic_version"}


def test_autogenerate_finds_no_difference_between_the_models_and_a_migrated_database(db_url: str) -> None:
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        assert schema.differences(conn) == []
    assert schema.check(engine) == []


def test_check_names_what_differs_from_the_models(db_url: str) -> None:
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_message_state")
        conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN nickname VARCHAR(20)")

    assert sorted(schema.check(engine)) == [
        "in the database, not in the models: column customer.nickname",
        "in the models, not in the database: index ix_message_state on message",
    ]


def test_check_names_a_column_that_differs_from_its_model(pg_db_url: str) -> None:
    engine = db.make_engine(pg_db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE customer ALTER COLUMN memo DROP NOT NULL")

    assert schema.check(engine) == ["customer.memo: nullable is True in the database, False in the models"]


def test_an_older_revision_is_refused_until_it_is_upgraded(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    schema.upgrade(engine, schema.FIRST)

    with pytest.raises(schema.SchemaOutdated, match="run `mailgate db upgrade`"):
        schema.ensure_current(engine)
    assert schema.current(engine) == schema.FIRST, "refused, not upgraded"
    assert schema.check(engine)[0].startswith(f"the database is at revision {schema.FIRST}; this mailgate")

    assert schema.upgrade(engine) == (schema.FIRST, schema.head())
    schema.ensure_current(engine)


def test_tables_that_are_not_mailgates_are_refused(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY)")

    with pytest.raises(schema.SchemaError, match=r"not those of mailgate before migrations \(orders\)"):
        schema.upgrade(engine)
    with pytest.raises(schema.SchemaError, match="no revision"):
        schema.ensure_current(engine)


RACE = """
import sys
from pathlib import Path
from mailgate import db, schema

engine = db.make_engine(sys.argv[1])
print("ready", flush=True)
while not Path(sys.argv[2]).exists():
    pass
print(schema.upgrade(engine)[0])
"""


def test_two_processes_building_one_empty_database_at_once_build_it_once(
    tmp_path: Path, empty_db_url: str
) -> None:
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, empty_db_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    go.touch()  # both are past their imports: they start the upgrade together
    done = [racer.communicate(timeout=120) for racer in racers]

    assert [racer.returncode for racer in racers] == [0, 0], done
    assert sorted(out.strip() for out, _err in done) == sorted([schema.EMPTY, schema.head()])
    assert schema.current(db.make_engine(empty_db_url)) == schema.head()


def test_the_backup_holds_what_is_still_in_the_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "var" / "mailgate.db"
    load_pre_migration(f"sqlite:///{path}")
    engine = db.make_engine(f"sqlite:///{path}")  # WAL; its open connection keeps the log from merging
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO imapstate (mailbox, uidvalidity, last_uid, updated_at)"
            " VALUES ('shop@example.jp/INBOX', 1, 2, '2026-11-26 12:00:00.000000')"
        )
    plain = tmp_path / "plain.db"
    shutil.copyfile(path, plain)
    assert len(rows(db.make_engine(f"sqlite:///{plain}"))["imapstate"]) == 1, "a file copy misses it"

    backup = schema.backup(engine, tmp_path / "backups")

    assert rows(db.make_engine(f"sqlite:///{backup}")) == rows(engine)
    assert len(rows(engine)["imapstate"]) == 2
