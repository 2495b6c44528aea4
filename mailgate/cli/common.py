"""What every command shares: the app, the --config option, output helpers."""

from __future__ import annotations

import getpass
import importlib.metadata
import json
import logging
import re
import sys
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any

import click
import sqlalchemy.exc
import typer
from typer.core import TyperGroup

from mailgate import config as config_mod
from mailgate.audit import Actor
from mailgate.cli import output
from mailgate.config import Config, ConfigError
from mailgate.normalize import redact


class GroupedCommands(TyperGroup):
    """`mailgate --help` lists the commands by job (output.PANELS), each command's `rich_help_panel`
    naming its heading; Typer only groups them when Rich renders the help, which we turn off."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            panel = getattr(command, "rich_help_panel", None) or output.SETUP
            groups.setdefault(panel, []).append((name, command.get_short_help_str(limit=90)))
        order = [p for p in output.PANELS if p in groups] + sorted(set(groups) - set(output.PANELS))
        for panel in order:
            with formatter.section(panel):
                formatter.write_dl(groups[panel])

    def invoke(self, ctx: click.Context) -> Any:
        """A database that cannot be reached (stopped, wrong [db] url, gone mid-command) is the
        operator's to fix: say so in one paragraph, exit 1, no traceback."""
        try:
            return super().invoke(ctx)
        except sqlalchemy.exc.OperationalError as e:
            reason = str(e.orig or e).strip().splitlines()[0]
            typer.echo(
                f"the database cannot be reached: {reason}\n"
                "Is it running? Check [db] url in the config; `mailgate db current` tries the connection.",
                err=True,
            )
            raise typer.Exit(1) from None


# No Rich markup: help texts name config sections like `[imap]`, which Rich would swallow as tags.
app = typer.Typer(
    cls=GroupedCommands,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="mailgate: mail in, bookings out.",
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="MAILGATE_CONFIG",
        help="mailgate.toml (default: ./mailgate.toml, else the built-in demo shop)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
AsOpt = Annotated[
    str,
    typer.Option("--as", "--operator", help="who is acting, for the audit (default: the OS user)"),
]


def operator_name(given: str) -> str:
    """Who acts: `--as NAME`, else the OS user (every operator action is audited with a name)."""
    return given.strip() or getpass.getuser()


def operator_actor(given: str) -> Actor:
    return Actor.operator(operator_name(given))


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def load_config(ctx: typer.Context, **overrides: str | None) -> Config:
    try:
        return config_mod.load(ctx.obj, **overrides)
    except ConfigError as e:
        raise fail(f"configuration error:\n{e}", 1) from None


def build_context(cfg: Config, *, read_only: bool = False, check_schema: bool = True) -> Any:
    """read_only: the command only looks; it creates nothing and says so when there is no database.
    check_schema=False: the caller checks (serve starts before the database answers)."""
    from mailgate.context import Context
    from mailgate.rules.engine import RulesError
    from mailgate.schema import NoDatabase, SchemaError

    try:
        built = Context.build(cfg, read_only=read_only, check_schema=check_schema)
    except NoDatabase as e:
        raise fail(str(e), 1) from None
    except SchemaError as e:
        raise fail(str(e), 1) from None
    except RulesError as e:
        raise fail(f"rules error:\n{e}", 1) from None
    except ConfigError as e:  # the files the config points at: shift table, DNS overrides
        raise fail(f"configuration error:\n{e}", 1) from None
    except (OSError, ValueError) as e:
        raise fail(f"configuration error: {e}", 1) from None
    command = click.get_current_context(silent=True)
    if command is not None:  # the command's connections close with it (in-process callers, tests)
        command.call_on_close(built.engine.dispose)
    return built


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_WORD = re.compile(r"\S+")


def mask_addresses(text: str) -> str:
    """Each word with an @ (an address, however quoted or bracketed) masked as `redact` masks it:
    09012345678@docomo.ne.jp is a common address, and a phone number never reaches the log."""
    return _WORD.sub(lambda m: redact(m.group()) if "@" in m.group() else m.group(), text)


class MaskedAddresses(logging.Formatter):
    """Masks the addresses in every line, whoever logs it (aiosmtpd logs each MAIL FROM and RCPT TO at
    INFO), and in tracebacks; the time stamp is left alone."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = mask_addresses(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return mask_addresses(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return mask_addresses(super().formatStack(stack_info))


def setup_logging(verbose: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskedAddresses(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
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


def shop_day(value: str | None, tz: tzinfo) -> date:
    """--date YYYY-MM-DD, or today in the shop's zone; anything else is a usage error (2)."""
    from mailgate.models import utcnow

    if value is None:
        return utcnow().astimezone(tz).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"expected a date like 2026-12-03, got {value!r}") from None
