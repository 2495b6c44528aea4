"""The database's schema revision: create a new database, refuse an outdated one, upgrade, check.

The migrations are Alembic revisions in mailgate/migrations/versions/, driven from here (no
alembic.ini). Revision 0001 is the schema of mailgate before it had migrations (commit 8356a80); a
database made then has those tables and no alembic_version, and `upgrade` stamps it 0001 first.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from mailgate import (
    db,
    desk_tables,  # noqa: F401  (registers the tables)
    followup_tables,  # noqa: F401
    models,  # noqa: F401
    shop_tables,  # noqa: F401
)

if TYPE_CHECKING:  # alembic is imported when a migration runs: every command starts faster without it
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
EMPTY = "empty"  # no tables at all: created at head
UNSTAMPED = "unstamped"  # the tables of mailgate before migrations, no alembic_version
FIRST = "0001"  # exactly those tables
PRE_MIGRATION_TABLES = frozenset(
    {"message", "customer", "token", "event", "outbox", "booking", "conflict", "inquiry", "imapstate"}
)
# How autogenerate compares (env.py and check): types and server defaults too, not only names.
COMPARE: dict[str, Any] = {"compare_type": True, "compare_server_default": True}
_PG_LOCK = 0x6D61696C67617465  # "mailgate": the advisory lock held while migrating


class SchemaError(Exception):
    """The database is not one this mailgate can use."""


class SchemaOutdated(SchemaError):
    """The database is mailgate's, at an older revision: `mailgate db upgrade` brings it up to date."""


class NoDatabase(SchemaError):
    """Nothing was ever stored: no database file, or a database without tables."""


def alembic_config(connection: Connection | None = None, pin_key: tuple[str, bytes] | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["pin_key"] = pin_key  # (kid, key): revisions that key stored PIN verifiers
    return cfg


def alembic_script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


@functools.cache
def revisions() -> tuple[str, ...]:
    """Every revision, oldest first. They are one numbered line, each file named by its revision
    (tests/db/test_revisions.py), so the file names say it without loading alembic."""
    return tuple(sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")))


def head() -> str:
    """The newest revision: the schema of the models."""
    return revisions()[-1]


def current(engine: Engine) -> str:
    """The database's revision, or EMPTY, or UNSTAMPED (a read: on SQLite it waits for no writer)."""
    with db.reading(engine).connect() as conn:
        return _current(conn)


def _current(conn: Connection) -> str:
    tables = set(sa.inspect(conn).get_table_names())
    stamped = "alembic_version" in tables
    tables.discard("alembic_version")
    revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() if stamped else None
    if revision is None and not tables:
        return EMPTY
    if revision is None and tables == PRE_MIGRATION_TABLES:
        return UNSTAMPED
    if revision is None:
        raise SchemaError(
            f"the database has tables but no revision, and not those of mailgate before migrations "
            f"({', '.join(sorted(tables))}): is [db] url right?"
        )
    if revision not in revisions():
        raise SchemaError(
            f"the database is at revision {revision}, which this mailgate does not know: "
            "it was upgraded by a newer mailgate"
        )
    return revision


def describe(revision: str) -> str:
    if revision == EMPTY:
        return "the database is empty"
    if revision == UNSTAMPED:
        return "the database has the tables of mailgate before migrations (no revision)"
    return f"the database is at revision {revision}" + (" (head)" if revision == head() else "")


def outdated(revision: str) -> SchemaOutdated:
    if revision == EMPTY:
        return SchemaOutdated(f"{describe(revision)}: `mailgate db upgrade` creates it at revision {head()}")
    return SchemaOutdated(
        f"{describe(revision)}; this mailgate needs revision {head()}.\n"
        "Back it up, then run `mailgate db upgrade`."
    )


def missing(url: str) -> str | None:
    """ "no database at PATH" when the SQLite file is not there (connecting would create it), else None."""
    path = db.sqlite_path(url)
    return f"no database at {path}" if path is not None and not path.exists() else None


def open_existing(url: str) -> Engine:
    """The database for a command that only looks: never created or migrated, refused unless at head."""
    absent = missing(url)
    if absent:
        raise _nothing_stored(absent)
    engine = db.make_engine(url)
    try:
        revision = current(engine)
        if revision == EMPTY:
            raise _nothing_stored(describe(EMPTY))
        if revision != head():
            raise outdated(revision)
    except SchemaError:
        engine.dispose()
        raise
    return engine


def _nothing_stored(where: str) -> NoDatabase:
    return NoDatabase(
        f"{where}: nothing has been stored with this configuration yet "
        "(`mailgate serve`, `ingest` or `db upgrade` create it)"
    )


def ensure_current(engine: Engine) -> None:
    """Go on at head; create an empty database at head; refuse any other (SchemaError)."""
    revision = current(engine)
    if revision == head():
        return
    if revision != EMPTY:
        raise outdated(revision)
    upgrade(engine)


def upgrade(
    engine: Engine, target: str = "head", *, pin_key: tuple[str, bytes] | None = None
) -> tuple[str, str]:
    """Bring the database to head (or target), one process at a time; (revision before, after).

    An empty database is built by running every revision; a pre-migration one is stamped 0001 first.
    pin_key: the key (kid, key) of the newest link secret, for a database with PIN verifiers to key.
    """
    from alembic import command

    target = head() if target == "head" else target
    with _migrating(engine) as conn:
        before = _current(conn)  # again, under the lock: another process may have just done it
        if before == target:
            return before, before
        cfg = alembic_config(conn, pin_key)
        if before == UNSTAMPED:
            command.stamp(cfg, FIRST)
        command.upgrade(cfg, target)
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:  # rolled back: nothing changed
                raise SchemaError(f"the upgrade would break foreign keys: {broken[:5]}")
    return before, target


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction around the whole upgrade, holding a lock no other upgrader gets meanwhile."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK)))
            yield conn
        return
    migrating = _sqlite_migration_engine(engine)
    try:
        with migrating.begin() as conn:
            yield conn
    finally:
        migrating.dispose()


def _sqlite_migration_engine(engine: Engine) -> Engine:
    """SQLite for migrations: transactional DDL under BEGIN EXCLUSIVE (the lock), and foreign keys
    off, because a batch migration recreates a table under the tables that point at it
    (https://sqlite.org/lang_altertable.html#otheralter); `upgrade` checks them before committing."""
    migrating = sa.create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 60})

    @sa.event.listens_for(migrating, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # the driver's own BEGIN would skip DDL
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=FULL")
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    @sa.event.listens_for(migrating, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN EXCLUSIVE")

    return migrating


def differences(conn: Connection) -> list[Any]:
    """What autogenerate would write to make the database match the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts=COMPARE)
    return list(compare_metadata(context, SQLModel.metadata))


def check(engine: Engine) -> list[str]:
    """Why the database does not match this mailgate: [] when it is at head and autogenerate finds
    no difference between it and the models."""
    with engine.connect() as conn:
        try:
            revision = _current(conn)
        except SchemaError as e:
            return [str(e)]
        problems = [] if revision == head() else [str(outdated(revision))]
        if revision != EMPTY:
            problems += [_explain(d) for d in differences(conn)]
    return problems


def _explain(diff: Any) -> str:
    """One autogenerate difference in words: ('add_column', None, 'message', Column(...)) is
    'in the models, not in the database: column message.priority'."""
    if isinstance(diff, list):  # the changes to one column
        return "; ".join(_explain(d) for d in diff)
    op, *args = diff
    if op.startswith("modify_"):
        _schema, table, column, _existing, in_db, in_models = args
        what = op.removeprefix("modify_")
        return f"{table}.{column}: {what} is {in_db!r} in the database, {in_models!r} in the models"
    where = (
        "in the models, not in the database"
        if op.startswith("add_")
        else "in the database, not in the models"
    )
    kind, thing = op.split("_", 1)[1], args[-1]
    if isinstance(thing, sa.Column):
        name = f"{args[-2]}.{thing.name}"
    elif isinstance(thing, sa.Table):
        name = thing.name
    else:  # an index or a constraint
        name = f"{thing.name} on {thing.table.name}"
    return f"{where}: {kind} {name}"


def backup(engine: Engine, directory: Path) -> Path:
    """Copy an SQLite database into directory as mailgate-REVISION-UTCTIME.db, readable by its owner
    only. The online backup API copies a consistent state, the WAL included, while others write."""
    revision = current(engine)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / f"mailgate-{revision}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.db"
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with closing(sqlite3.connect(str(engine.url.database))) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target
