"""`mailgate export` and `mailgate import`: the ledger as CSV for a spreadsheet, and CSV files
(mailgate's own, or another system's through a column map) into the ledger (mailgate/exchange/)."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from mailgate.cli import output
from mailgate.cli.common import (
    AsOpt,
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    load_config,
    operator_name,
)

if TYPE_CHECKING:
    from mailgate.exchange.csv_export import Written
    from mailgate.exchange.import_run import Report

SHOWN = 20  # substitutions and bad rows listed one by one; the rest counted


class Exported(StrEnum):
    bookings = "bookings"
    customers = "customers"
    audit = "audit"


class Imported(StrEnum):
    bookings = "bookings"
    customers = "customers"


class Encoding(StrEnum):
    utf8 = "utf-8-sig"
    cp932 = "cp932"


def _day(text: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(text.replace("/", "-")) if text else None
    except ValueError:
        raise fail(f"{option}: expected a day like 2031-12-01, got {text!r}") from None


@app.command(
    "export",
    rich_help_panel=output.DATA,
    epilog="Example: mailgate export bookings --from 2031-12-01 --to 2031-12-31 --csv december.csv",
)
def export(
    ctx: typer.Context,
    what: Annotated[Exported, typer.Argument(help="bookings (by start), customers (by creation), audit")],
    first: Annotated[str | None, typer.Option("--from", help="first day, in the shop's zone")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last day (included)")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="write here (default: standard output)")] = None,
    encoding: Annotated[
        Encoding, typer.Option(help="utf-8-sig (Excel reads every character) or cp932 (old Excel)")
    ] = Encoding.utf8,
    operator: AsOpt = "",
) -> None:
    """CSV that Excel in Japan opens as it is: times in the shop's zone, formulas neutralized."""
    from sqlmodel import Session

    from mailgate import audit, db
    from mailgate.exchange import csv_export

    since, until = _day(first, "--from"), _day(last, "--to")
    c = build_context(load_config(ctx))
    start, end = csv_export.span(since, until, c.cfg.tz)
    columns, rows = csv_export.COLUMNS[what.value], csv_export.ROWS[what.value]
    with Session(c.engine) as s:
        if csv is None:
            sys.stdout.flush()
            out: BinaryIO = sys.stdout.buffer
            written = csv_export.write(out, columns, rows(s, c.cfg.tz, start, end), encoding.value)
            out.flush()
        else:
            try:
                with csv.open("wb") as f:
                    written = csv_export.write(f, columns, rows(s, c.cfg.tz, start, end), encoding.value)
            except OSError as e:
                raise fail(f"cannot write {csv}: {e.strerror}", 1) from None
    with db.transaction(c.engine) as s:  # personal data left the ledger: who took what
        actor = audit.Actor.operator(operator_name(operator))
        audit.by(s, "csv_exported", actor, what=what.value, rows=written.rows, first=first, last=last)
    _tell_export(what.value, csv, encoding.value, written)


def _tell_export(what: str, csv: Path | None, encoding: str, written: Written) -> None:
    if csv is not None:
        typer.echo(f"wrote {written.rows} {what} to {csv} ({encoding})")
    subs = written.substituted
    if subs:
        lines = [f"  row {s.row} {s.column}: {s.chars} -> 〓" for s in subs[:SHOWN]]
        lines += [f"  ... and {len(subs) - SHOWN} more"] if len(subs) > SHOWN else []
        head = f"cp932 cannot hold {len(subs)} cell(s); written with 〓 in their place:"
        hint = "use --encoding utf-8-sig (the default) to keep every character"
        typer.echo("\n".join([head, *lines, hint]), err=True)


@app.command(
    "import",
    rich_help_panel=output.DATA,
    epilog="Example: mailgate import bookings old-system.csv --map old-system.toml --dry-run",
)
def import_(
    ctx: typer.Context,
    what: Annotated[Imported, typer.Argument(help="bookings or customers")],
    file: Annotated[Path, typer.Argument(help="the CSV file", exists=True, dir_okay=False)],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="import the good rows, list the bad")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and try, then write nothing")] = False,
    map_file: Annotated[
        Path | None, typer.Option("--map", help="another system's columns (TOML: our column = their header)")
    ] = None,
    encoding: Annotated[
        Encoding | None, typer.Option(help="the file's encoding (default: the map's, else utf-8-sig)")
    ] = None,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Bookings or customers from CSV: every row checked first, all or nothing; twice changes nothing."""
    from mailgate.audit import Actor
    from mailgate.exchange import column_map, import_run
    from mailgate.exchange.csv_import import FileError
    from mailgate.models import utcnow

    try:
        cmap = column_map.load(map_file, what.value) if map_file else column_map.OWN
    except column_map.MapError as e:
        raise fail(str(e), 1) from None
    c = build_context(load_config(ctx))
    enc = encoding.value if encoding else cmap.encoding or Encoding.utf8.value
    asked = import_run.Asked(what.value, file, cmap, enc, skip_bad=skip_bad, dry_run=dry_run)
    try:
        report = import_run.run(c.engine, c.ledger, asked, Actor.operator(operator_name(operator)), utcnow())
    except FileError as e:
        raise fail(str(e), 1) from None
    stopped = bool(report.bad) and not skip_bad  # all or nothing: nothing
    if as_json:
        emit_json(_as_dict(report))
    else:
        _tell_import(file, what.value, report, stopped)
    if stopped:
        raise typer.Exit(1)


def _as_dict(report: Report) -> dict[str, Any]:
    o = report.outcome
    return {
        "rows": report.rows,
        "applied": report.applied,
        "dry_run": report.dry_run,
        "created": o.created,
        "updated": o.updated,
        "unchanged": o.unchanged,
        "conflicts": [{"line": p.line, "reason": p.reason} for p in o.conflicts],
        "bad": [{"line": p.line, "reason": p.reason} for p in report.bad],
        "refused": [{"line": p.line, "reason": p.reason} for p in o.refused],
    }


def _tell_import(file: Path, what: str, report: Report, stopped: bool) -> None:
    bad = report.bad
    lines = [f"line {p.line}: {p.reason}" for p in bad[:SHOWN]]
    lines += [f"... and {len(bad) - SHOWN} more bad rows"] if len(bad) > SHOWN else []
    if stopped:
        head = f"{file}: {len(bad)} of {report.rows} rows are bad; nothing imported (all or nothing)"
        hint = "fix them, or import the good rows with --skip-bad"
        typer.echo("\n".join([head, *lines, hint]), err=True)
        return
    o = report.outcome
    done = "would import (dry run, nothing written)" if report.dry_run else "imported"
    counts = f"{o.created} new, {o.updated} updated, {o.unchanged} unchanged (imported before)"
    out = [f"{done} {what} from {file}: {counts}"]
    if bad:
        out += [f"skipped {len(bad)} bad rows:", *lines]
    if o.conflicts:
        out += [f"{len(o.conflicts)} recorded with a conflict (mailgate conflicts):"]
        out += [f"line {p.line}: {p.reason}" for p in o.conflicts[:SHOWN]]
    out += [f"line {p.line}: refused: {p.reason}" for p in o.refused]
    typer.echo("\n".join(out))
