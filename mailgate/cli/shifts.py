"""`mailgate shifts [--week DATE] | set STAFF DATE START-END|off | check`: the staff shift table."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from mailgate.cli.common import JsonOpt, app, emit_json, fail, load_config
from mailgate.config import Config
from mailgate.shop.calendar import ALL_DAY, Calendar
from mailgate.shop.shifts import ShiftTableError, format_day, parse_day
from mailgate.times import Span, fmt_day, fmt_span_ascii, is_closed_word, parse_span

shifts_app = typer.Typer(help="The staff shift table: show a week, set a day, check the file.")
app.add_typer(shifts_app, name="shifts")

SET_HINT = 'set [shop] shifts = "shifts.csv" (or "shifts.toml") in the config first'


@shifts_app.callback(invoke_without_command=True)
def shifts_week(
    ctx: typer.Context,
    week: Annotated[
        str | None, typer.Option("--week", help="any day of the week to show, YYYY-MM-DD (default: today)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show who works when, Monday to Sunday: times, or 休 for a day off."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = load_config(ctx)
    cal = _calendar(cfg)
    day = _week_day(week, cfg)
    days = [day - timedelta(days=day.weekday() - i) for i in range(7)]
    if as_json:  # null: closed / day off
        iso = [d.isoformat() for d in days]
        emit_json(
            {
                "days": iso,
                "shop": {i: _json_cell(cal.opening(d)) for i, d in zip(iso, days, strict=True)},
                "staff": {
                    n: {i: _json_cell(cal.shift(n, d)) for i, d in zip(iso, days, strict=True)}
                    for n in cal.staff
                },
            }
        )
        return
    shop = [_shop_cell(cal, d) for d in days]
    staff = {name: [_cell(cal.shift(name, d)) for d in days] for name in cal.staff}
    rows = [["営業", *shop], *([n, *cells] for n, cells in staff.items())]
    typer.echo(_table(["", *(fmt_day(d) for d in days)], rows))
    if not cal.staff:
        typer.echo("(no staff in [shop] staff: add them to see their shifts)")


@shifts_app.command("set")
def shifts_set(
    ctx: typer.Context,
    staff: Annotated[str, typer.Argument(help="a name or alias from [shop] staff")],
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD, or mon..sun for the default week")],
    hours: Annotated[str, typer.Argument(metavar="START-END|off", help="e.g. 10:00-16:00, or off (休)")],
) -> None:
    """Set one person's hours on one day (or weekday) in the shift table file, keeping its format."""
    from mailgate.shop import shiftwrite

    cfg = load_config(ctx)
    path = _table_path(cfg)
    cal = Calendar.build(cfg.shop)
    if not cal.staff:
        raise fail("no staff in [shop] staff: add them to the config first")
    name = cal.staff_named(staff)
    if name is None:
        raise fail(f"{staff!r} is not in [shop] staff (known: {', '.join(cal.staff)})")
    when = parse_day(day)
    if when is None:
        raise fail(f"{day!r}: expected YYYY-MM-DD or a weekday mon..sun")
    span = _parse_hours_arg(hours)
    had_week = isinstance(when, int) and _has_week(cfg, name)
    try:
        replaced = shiftwrite.set_row(path, name, when, span, cal.staff_named)
    except ShiftTableError as e:
        raise fail(str(e), 1) from None
    except (OSError, UnicodeEncodeError) as e:
        raise fail(f"{path}: cannot write: {e}", 1) from None
    shown = "off" if span is None else fmt_span_ascii(span)
    typer.echo(f"{path}: {name} {format_day(when)} {shown} ({'updated' if replaced else 'added'})")
    if isinstance(when, int) and not had_week:
        typer.echo(f"note: {name} now has a usual week: weekdays without a row are days off", err=True)
    for mistake in _mistakes(cfg, path):
        typer.echo(f"warning: {mistake}", err=True)


@shifts_app.command("check")
def shifts_check(ctx: typer.Context) -> None:
    """Check the shift table file: every mistake as FILE:LINE (unknown staff, bad times, duplicates)."""
    cfg = load_config(ctx)
    path = _table_path(cfg)
    mistakes = _mistakes(cfg, path)
    for mistake in mistakes:
        typer.echo(mistake)
    if mistakes:
        raise typer.Exit(1)
    typer.echo(f"{path}: ok")


def _table_path(cfg: Config) -> Path:
    if not cfg.shop.shifts:
        raise fail(f"no shift table: {SET_HINT}")
    return cfg.resolve(cfg.shop.shifts)


def _mistakes(cfg: Config, path: Path) -> list[str]:
    from mailgate.shop import shifts

    try:
        table = shifts.read(path)
    except FileNotFoundError:
        return [f"{path}: no such file (add rows with `mailgate shifts set`)"]
    except ShiftTableError as e:
        return [str(e)]
    except OSError as e:
        return [f"{path}: {e.strerror}"]
    return shifts.check(table, Calendar.build(cfg.shop).staff_named)


def _has_week(cfg: Config, name: str) -> bool:
    """Whether the table already gives this person a usual week (weekday rows)."""
    from mailgate.shop import shifts

    try:
        rows = shifts.read(_table_path(cfg)).rows
    except (OSError, ShiftTableError):
        return False
    staff_named = Calendar.build(cfg.shop).staff_named
    return any(isinstance(r.day, int) and staff_named(r.staff) == name for r in rows)


def _calendar(cfg: Config) -> Calendar:
    try:
        return Calendar.from_config(cfg)
    except ShiftTableError as e:
        raise fail(f"shift table error:\n{e}\n(fix it, then run `mailgate shifts check`)", 1) from None


def _week_day(text: str | None, cfg: Config) -> date:
    if text is None:
        return datetime.now(cfg.tz).date()
    day = parse_day(text)
    if not isinstance(day, date):
        raise fail(f"--week {text!r}: expected a date YYYY-MM-DD")
    return day


def _parse_hours_arg(text: str) -> Span | None:
    if is_closed_word(text):
        return None
    try:
        return parse_span(text)
    except ValueError:
        raise fail(f"{text!r}: expected START-END such as 10:00-16:00 (end after start), or off") from None


def _cell(span: Span | None) -> str:
    return "休" if span is None else "-" if span == ALL_DAY else fmt_span_ascii(span)


def _json_cell(span: Span | None) -> str | None:
    return None if span is None else "00:00-24:00" if span == ALL_DAY else fmt_span_ascii(span)


def _shop_cell(cal: Calendar, day: date) -> str:
    span = cal.opening(day)
    if span is None:
        return "休業日" if cal.is_holiday(day) else "定休日"
    return _cell(span)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded by display width, so kanji line up with digits in a terminal."""
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    )
