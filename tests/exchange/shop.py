"""A second ledger with the month's shop and no bookings: where an export is imported back."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mailgate import config, db, schema
from mailgate.cli import app
from mailgate.shop import importing, shift_store
from tests.cli import month


def fresh_shop(where: Path, url: str) -> Path:
    gen = month._gen()
    path = gen.write_config(where, url, month.MONTH)
    cfg = config.load(path)
    engine = db.make_engine(cfg.db_url)
    try:
        schema.ensure_current(engine)
        with db.transaction(engine) as s:
            importing.import_shop(s, cfg.shop, importing.shift_rows(cfg))
            shift_store.bump(s)
    finally:
        engine.dispose()
    return path


def run(cfg: Path, *args: str) -> tuple[int, str, str]:
    """The command in-process, as an operator types it: (exit code, stdout, stderr)."""
    done = CliRunner().invoke(app, ["--config", str(cfg), *args])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, done.stdout, done.stderr
