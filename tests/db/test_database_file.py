"""The database file holds customers' names, phones and PIN verifiers: only its owner may read it."""

from __future__ import annotations

from pathlib import Path

from mailgate import config, db
from mailgate.context import Context
from mailgate.models import Customer
from tests.conftest import private, write_config


def test_a_new_shops_var_and_database_are_owner_only_whatever_the_umask(
    tmp_path: Path, open_umask: None
) -> None:
    ctx = Context.build(config.load(write_config(tmp_path / "shop", database=False)))
    with db.transaction(ctx.engine) as s:  # a write: the WAL and its index exist now
        s.add(Customer(email="a@example.jp", email_key="a@example.jp"))
    var = tmp_path / "shop" / "var"
    files = [var / "mailgate.db", var / "mailgate.db-wal", var / "mailgate.db-shm"]
    assert all(f.exists() for f in files)
    assert [p.name for p in (var, *files) if not private(p)] == []
