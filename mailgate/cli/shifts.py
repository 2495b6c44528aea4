"""`mailgate shifts`: who works when, in the database — show a week, set a day, check the shifts
against the shop's hours, import or export today's CSV/TOML table."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated

import typer

from mailgate import audit
from mailgate.cli import output
from mailgate.cli.common import (
    AsOpt,
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    load_config,
    operator_actor,
)
from mailgate.shop.calendar import ALL_DAY, Calendar
from mailgate.shop.shift_checks import outside_hours
from mailgate.shop.shifts import ShiftTableError, format_day, parse_day
from mailgate.times import Span, fmt_day, fmt_span_ascii, is_closed_word, parse_span

shifts_app = typer.Typer(help="Who works when: show a week, set a day, check, import or export a table file.")
app.add_typer(shifts_app, name="shifts", rich_help_panel=output.SETUP)


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
    cal = build_context(cfg).calendar
    day = _week_day(week, cfg.tz)
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
        typer.echo("(no staff yet: add them with `mailgate shop import` from [shop] staff)")


@shifts_app.command("set")
def shifts_set(
    ctx: typer.Context,
    staff: Annotated[str, typer.Argument(help="a staff member's name or alias")],
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD, or mon..sun for the usual week")],
    hours: Annotated[
        str, typer.Argument(metavar="START-END|off", help="e.g. 10:00-16:00, 22:00-02:00, or off (休)")
    ],
    operator: AsOpt = "",
) -> None:
    """Set one person's hours on one day (or weekday)."""
    from mailgate import db
    from mailgate.shop import shift_store

    c = build_context(load_config(ctx))
    cal = c.calendar
    name = _staff(cal, staff)
    when = parse_day(day)
    if when is None:
        raise fail(f"{day!r}: expected YYYY-MM-DD or a weekday mon..sun")
    span = _parse_hours_arg(hours)
    had_week = any(isinstance(d, int) for (n, d) in cal.shifts if n == name)
    shown = "off" if span is None else fmt_span_ascii(span)
    with db.transaction(c.engine) as session:
        replaced = shift_store.set_shift(session, cal, name, when, span)
        audit.by(
            session, "shift_set", operator_actor(operator), staff=name, day=format_day(when), hours=shown
        )
    typer.echo(f"{name} {format_day(when)} {shown} ({'updated' if replaced else 'added'})")
    if isinstance(when, int) and not had_week:
        typer.echo(f"note: {name} now has a usual week: weekdays without a row are days off", err=True)
    for problem in outside_hours(c.calendar, datetime.now(c.cfg.tz).date(), 28):
        typer.echo(f"warning: {problem}", err=True)


@shifts_app.command("check")
def shifts_check(
    ctx: typer.Context,
    weeks: Annotated[int, typer.Option(help="how many weeks from today to look at")] = 4,
) -> None:
    """Shifts on days the shop is closed or outside its hours, from today on."""
    cfg = load_config(ctx)
    cal = build_context(cfg).calendar
    problems = outside_hours(cal, datetime.now(cfg.tz).date(), weeks * 7)
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(1)
    typer.echo("shifts: ok")


@shifts_app.command("import")
def shifts_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="a shift table, .csv or .toml (date,staff,start,end)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and count, change nothing")] = False,
    operator: AsOpt = "",
) -> None:
    """Replace the shifts with a table file's (every mistake as FILE:LINE, nothing changed then)."""
    from mailgate import db
    from mailgate.shop import shift_store, shifts

    c = build_context(load_config(ctx))
    cal = c.calendar
    try:
        table = shifts.read(path)
    except ShiftTableError as e:
        raise fail(str(e), 1) from None
    except OSError as e:
        raise fail(f"{path}: {e.strerror}", 1) from None
    mistakes = shifts.check(table, cal.staff_named)
    if mistakes:
        raise fail("\n".join(mistakes), 1)
    rows = shifts.canonical_rows(table.rows, cal.staff_named)
    if dry_run:
        typer.echo(f"{path}: {len(rows)} rows, ok (nothing changed: --dry-run)")
        return
    with db.transaction(c.engine) as session:
        count = shift_store.replace_all(session, cal, rows)
        audit.by(session, "shifts_imported", operator_actor(operator), file=path.name, rows=count)
    typer.echo(f"{path}: {count} rows imported (the shifts are these now)")


@shifts_app.command("export")
def shifts_export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="where to write the table, .csv or .toml")],
) -> None:
    """Write the shifts to a table file (the format `shifts import` reads)."""
    from mailgate import db
    from mailgate.files import write_durably
    from mailgate.shop import shift_store, shifts

    c = build_context(load_config(ctx))
    try:
        fmt = shifts.file_format(path)
    except ShiftTableError as e:
        raise fail(str(e)) from None
    with db.transaction(db.reading(c.engine)) as session:
        rows = list(shift_store.listing(session))
    write_durably(path, shifts.render(fmt, rows).encode("utf-8"), mode=0o644)
    typer.echo(f"wrote {path}: {len(rows)} rows")


def _staff(cal: Calendar, text: str) -> str:
    if not cal.staff:
        raise fail("no staff yet: add them with `mailgate shop import` from [shop] staff", 1)
    name = cal.staff_named(text)
    if name is None:
        raise fail(f"{text!r} is not a staff member (known: {', '.join(cal.staff)})", 1)
    return name


def _week_day(text: str | None, tz: tzinfo) -> date:
    if text is None:
        return datetime.now(tz).date()
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
        raise fail(f"{text!r}: expected START-END such as 10:00-16:00, or off") from None


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
