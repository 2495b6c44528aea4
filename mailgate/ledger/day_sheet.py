"""The day's ledger as the desk reads it at 8:30: per staff member, their bookings in order and the
free gaps of their shift between them (breaks are not free). Pure: the calendar and the day's
booking rows (ledger/listing.bookings_on) in, rows out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from mailgate.shop.calendar import Calendar

NO_ONE = ""  # bookings that name no staff member (or one not on the roster)


def sheet(cal: Calendar, day: date, bookings: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """{staff: rows}; a row is {"kind": "booking", **booking} or {"kind": "free", "start", "end"}
    (local HH:MM). Everyone on the roster is listed, their day off as no rows at all."""
    live = [b for b in bookings if b["status"] not in ("cancelled", "expired")]
    people = {name: [b for b in live if b.get("staff") == name] for name in cal.staff}
    others = [b for b in live if b.get("staff") not in people]
    out: dict[str, list[dict[str, Any]]] = {}
    for name, mine in people.items():
        span = cal.shift(name, day)
        out[name] = [] if span is None and not mine else _with_gaps(cal, day, span, mine)
    if others:
        out[NO_ONE] = [{"kind": "booking", **b} for b in others]
    return out


def _with_gaps(
    cal: Calendar, day: date, span: Any, mine: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if span is None:
        return [{"kind": "booking", **b} for b in mine]
    lo, hi = cal.bounds(day, span)
    breaks = [cal.bounds(day, b) for b in cal.breaks(day)]
    busy = sorted(
        [(_at(b["start"]), _at(b["end"]), b) for b in mine] + [(s, e, None) for s, e in breaks],
        key=lambda x: x[0],
    )
    cursor = lo
    for start, end, booking in busy:
        if start > cursor and cursor < hi:
            rows.append(_free(cal, cursor, min(start, hi)))
        if booking is not None:
            rows.append({"kind": "booking", **booking})
        cursor = max(cursor, end)
    if cursor < hi:
        rows.append(_free(cal, cursor, hi))
    return rows


def _at(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _free(cal: Calendar, start: datetime, end: datetime) -> dict[str, Any]:
    return {"kind": "free", "start": f"{cal.local(start):%H:%M}", "end": f"{cal.local(end):%H:%M}"}
