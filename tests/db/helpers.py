"""Databases for the schema tests: the pre-migration fixtures, and what a database holds and looks like."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

FIXTURES = Path(__file__).parent / "fixtures"


def load_pre_migration(url: str) -> None:
    """Into an empty database: the tables and rows mailgate 8356a80 made, before it had migrations
    (tests/db/fixtures/, written by scripts/pre_migration_fixtures.py)."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path)) as conn:
            conn.executescript((FIXTURES / "pre_migration_sqlite.sql").read_text())
        return
    engine = sa.create_engine(url, poolclass=NullPool)  # pg_dump's SQL empties search_path: not pooled
    with engine.begin() as conn:
        conn.exec_driver_sql((FIXTURES / "pre_migration_postgresql.sql").read_text())
    engine.dispose()


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but alembic_version, as the database returns them."""
    insp = sa.inspect(engine)
    keys = {
        t: ", ".join(insp.get_pk_constraint(t)["constrained_columns"])
        for t in insp.get_table_names()
        if t != "alembic_version"
    }
    with engine.connect() as conn:
        return {
            t: [dict(r._mapping) for r in conn.execute(sa.text(f'SELECT * FROM "{t}" ORDER BY {key}'))]
            for t, key in keys.items()
        }


def inspected(engine: Engine) -> dict[str, Any]:
    """The schema as SQLAlchemy's inspector sees it (columns with types, nullability and defaults;
    keys, constraints and indexes with their names), and the names in the database's catalog."""
    insp = sa.inspect(engine)

    def by_name(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda item: item["name"] or "")

    found: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        found[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"]) for c in insp.get_columns(table)
            ],
            "primary key": insp.get_pk_constraint(table),
            "foreign keys": by_name(insp.get_foreign_keys(table)),
            "unique": by_name(insp.get_unique_constraints(table)),
            "indexes": by_name(insp.get_indexes(table)),
            "checks": by_name(insp.get_check_constraints(table)),
        }
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            catalog = "SELECT type, name, tbl_name FROM sqlite_master ORDER BY 2, 1, 3"
            found["catalog"] = conn.exec_driver_sql(catalog).all()
        else:
            found["catalog"] = conn.exec_driver_sql(
                "SELECT conrelid::regclass::text, conname, contype FROM pg_constraint"
                " WHERE connamespace = 'public'::regnamespace"
                " UNION ALL SELECT tablename, indexname, 'index' FROM pg_indexes WHERE schemaname = 'public'"
                " UNION ALL SELECT '', sequencename, 'sequence' FROM pg_sequences WHERE schemaname = 'public'"
                " ORDER BY 2, 1, 3"
            ).all()
    return found
