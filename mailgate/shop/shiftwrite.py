"""Setting one row of the shift table, keeping the file's format, comments, encoding and line endings.

The file is rewritten atomically (a temp file in the same directory, then rename), so the server never
reads half a table.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Callable
from pathlib import Path

from mailgate.files import write_durably
from mailgate.shop import shifts as shifts_mod
from mailgate.shop.shifts import Day, ShiftTableError, format_day
from mailgate.times import Span, fmt_span_ascii

StaffNamed = Callable[[str], str | None]  # name or alias -> canonical name

CSV_HEADER = "date,staff,start,end"


def set_row(path: Path, staff: str, day: Day, span: Span | None, staff_named: StaffNamed) -> bool:
    """Write `staff` on `day` (None = off); True if an existing row was replaced, False if one was added.

    `staff_named` maps a name in the file to the canonical name (aliases count as the same person)."""
    fmt = shifts_mod.file_format(path)
    if path.exists():
        text, encoding = shifts_mod.decode(path.read_bytes())
    else:
        text, encoding = "", "utf-8"
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    if fmt == "csv":
        lines, replaced = _set_csv(lines, staff, day, span, staff_named)
    else:
        lines, replaced = _set_toml(text, lines, staff, day, span, staff_named, path)
    _write_atomically(path, (newline.join(lines) + newline).encode(encoding))
    return replaced


def _same(day_text: object, staff_text: object, staff: str, day: Day, staff_named: StaffNamed) -> bool:
    if not isinstance(staff_text, str) or staff_named(staff_text) != staff:
        return False
    return shifts_mod.parse_day(day_text) == day


def _csv_line(staff: str, day: Day, span: Span | None) -> str:
    start, end = ("off", "") if span is None else fmt_span_ascii(span).split("-")
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([format_day(day), staff, start, end])
    return out.getvalue()


def _set_csv(
    lines: list[str], staff: str, day: Day, span: Span | None, staff_named: StaffNamed
) -> tuple[list[str], bool]:
    new = _csv_line(staff, day, span)
    out: list[str] = []
    replaced = False
    for line in lines:
        cells = next(csv.reader([line]), []) if line.strip() and not line.lstrip().startswith("#") else []
        if len(cells) >= 2 and _same(cells[0].strip(), cells[1].strip(), staff, day, staff_named):
            if not replaced:  # the first matching row takes the new value; duplicates go
                out.append(new)
            replaced = True
            continue
        out.append(line)
    if not replaced:
        while out and not out[-1].strip():
            out.pop()
        if not out:
            out.append(CSV_HEADER)
        out.append(new)
    return out, replaced


def _toml_block(staff: str, day: Day, span: Span | None) -> list[str]:
    day_value = day.isoformat() if not isinstance(day, int) else f'"{format_day(day)}"'
    block = ["[[shift]]", f"date = {day_value}", f'staff = "{_toml_escape(staff)}"']
    if span is None:
        return [*block, "off = true"]
    start, end = fmt_span_ascii(span).split("-")
    return [*block, f'start = "{start}"', f'end = "{end}"']


def _toml_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _set_toml(
    text: str,
    lines: list[str],
    staff: str,
    day: Day,
    span: Span | None,
    staff_named: StaffNamed,
    path: Path,
) -> tuple[list[str], bool]:
    try:
        tables = tomllib.loads(text).get("shift", []) if text.strip() else []
    except tomllib.TOMLDecodeError as e:
        raise ShiftTableError(f"{path}: not valid TOML: {e}") from None
    headers = shifts_mod.toml_header_lines(text)
    if not isinstance(tables, list) or len(headers) != len(tables):
        raise ShiftTableError(f"{path}: cannot edit: write every row as a [[shift]] table")
    new = _toml_block(staff, day, span)
    # Each block runs from its header to its last key line (comments before the next header stay).
    spans = [(h - 1, _block_end(lines, h - 1)) for h in headers]
    matches = [
        i
        for i, t in enumerate(tables)
        if isinstance(t, dict) and _same(t.get("date"), t.get("staff"), staff, day, staff_named)
    ]
    if not matches:
        body = list(lines)
        while body and not body[-1].strip():
            body.pop()
        return [*body, *([""] if body else []), *new], False
    out = list(lines)
    for i in reversed(matches):  # from the end, so earlier line numbers stay valid
        first, last = spans[i]
        out[first : last + 1] = new if i == matches[0] else []
    return out, True


def _block_end(lines: list[str], first: int) -> int:
    last = first
    for i in range(first + 1, len(lines)):
        stripped = lines[i].strip()
        if stripped.startswith("["):
            break
        if stripped and not stripped.startswith("#"):
            last = i
    return last


def _write_atomically(path: Path, data: bytes) -> None:
    write_durably(path, data, mode=path.stat().st_mode & 0o777 if path.exists() else 0o644)
