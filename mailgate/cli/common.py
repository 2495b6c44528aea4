"""What every command shares: the app, the --config option, output helpers."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from mailgate import config as config_mod
from mailgate.config import Config, ConfigError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="mailgate: mail in, bookings out.")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar="MAILGATE_CONFIG", help="mailgate.toml (default: built-in demo shop)"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def load_config(ctx: typer.Context, **overrides: str | None) -> Config:
    try:
        return config_mod.load(ctx.obj, **overrides)
    except ConfigError as e:
        raise fail(f"configuration error:\n{e}") from None


def build_context(cfg: Config, *, check_schema: bool = True) -> Any:
    from mailgate.context import Context
    from mailgate.rules.engine import RulesError
    from mailgate.schema import SchemaError

    try:
        built = Context.build(cfg, check_schema=check_schema)
    except SchemaError as e:
        raise fail(str(e)) from None
    except RulesError as e:
        raise fail(f"rules error:\n{e}") from None
    except ConfigError as e:  # the files the config points at: shift table, DNS overrides
        raise fail(f"configuration error:\n{e}") from None
    except (OSError, ValueError) as e:
        raise fail(f"configuration error: {e}") from None
    command = click.get_current_context(silent=True)
    if command is not None:  # the command's connections close with it (in-process callers, tests)
        command.call_on_close(built.engine.dispose)
    return built


def setup_logging(verbose: bool = True) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per message is ours to write; the scheduler's job bookkeeping is noise at 8:30.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def fmt_dt(value: datetime | None, cfg: Config) -> str:
    return value.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mailgate {importlib.metadata.version('mailgate')}")
        raise typer.Exit()


VersionOpt = Annotated[
    bool,
    typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
]


@app.callback()
def main_callback(ctx: typer.Context, config: ConfigOpt = None, version: VersionOpt = False) -> None:
    ctx.obj = config
