"""The database schema: upgrade it, show its revision, check it against this mailgate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import app, fail, load_config

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from mailgate.config import Config

db_app = typer.Typer(no_args_is_help=True, help="The database schema: upgrade, current revision, check.")
app.add_typer(db_app, name="db", rich_help_panel=output.SETUP)


def _open(ctx: typer.Context) -> tuple[Config, Engine]:
    from mailgate import db

    cfg = load_config(ctx)
    return cfg, db.make_engine(cfg.db_url)


def _absent(ctx: typer.Context) -> str | None:
    """What `current` and `check` say when there is no SQLite file: looking must not create one."""
    from mailgate import schema

    absent = schema.missing(load_config(ctx).db_url)
    return f"{absent}: `mailgate db upgrade` creates it at revision {schema.head()}" if absent else None


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="PostgreSQL: you took a pg_dump, do not ask")] = False,
) -> None:
    """Bring the database to this mailgate's revision (SQLite: copied to var/backups/ first)."""
    from mailgate import schema

    cfg, engine = _open(ctx)
    try:
        before = schema.current(engine)
        typer.echo(schema.describe(before))
        if before == schema.head():
            return
        if before != schema.EMPTY and engine.dialect.name == "sqlite":
            typer.echo(f"copied the database to {schema.backup(engine, cfg.var_dir / 'backups')}")
        elif before != schema.EMPTY and not yes:
            typer.echo("mailgate does not back up a PostgreSQL database: take one first, e.g.")
            typer.echo(f"  pg_dump -Fc -f mailgate-{before}.dump {engine.url.database}")
            typer.confirm("Upgrade now?", abort=True)
        _before, after = schema.upgrade(engine, pin_key=_pin_key(cfg))
    except schema.SchemaError as e:
        raise fail(str(e), 1) from None
    finally:
        engine.dispose()
    typer.echo(f"upgraded to revision {after} (head)")


def _pin_key(cfg: Config) -> tuple[str, bytes] | None:
    """The key stored PIN verifiers are keyed with; None without link secrets (a database with no
    PIN to key upgrades without them)."""
    from mailgate.config import ConfigError
    from mailgate.ledger.pins import pin_keys
    from mailgate.links import link_secrets

    try:
        newest = pin_keys(link_secrets(cfg))[-1]
    except ConfigError:
        return None
    return newest.kid, newest.key


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """The database's revision, and whether it is this mailgate's (head)."""
    from mailgate import schema

    absent = _absent(ctx)
    if absent:
        typer.echo(absent)
        return
    _cfg, engine = _open(ctx)
    try:
        revision = schema.current(engine)
    except schema.SchemaError as e:
        raise fail(str(e), 1) from None
    finally:
        engine.dispose()
    typer.echo(schema.describe(revision) if revision == schema.head() else str(schema.outdated(revision)))


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Exit 0 only when the database is at head and its tables match the models."""
    from mailgate import schema

    absent = _absent(ctx)
    if absent:
        typer.echo(absent)
        raise typer.Exit(1)
    _cfg, engine = _open(ctx)
    try:
        problems = schema.check(engine)
    finally:
        engine.dispose()
    if problems:
        for problem in problems:
            typer.echo(problem)
        raise typer.Exit(1)
    typer.echo(f"{schema.describe(schema.head())}; its tables match the models")
