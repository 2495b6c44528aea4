"""The day's ledger as the desk reads it at 8:30: per staff member, their bookings in order, the
breaks, and the free gaps of their shift between them; and a week of such days in brief. Pure: the
calendar and the day's booking rows (ledger/listing.bookings_on) in, rows out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from mailgate.shop.calendar import Calendar

NO_ONE = ""  # bookings that name no staff member (or one not on the roster)


def sheet(cal: Calendar, day: date, bookings: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """{staff: rows}; a row is {"kind": "booking", **booking}, or {"kind": "free" | "break", "start",
    "end"} (local HH:MM). Everyone on the roster is listed, their day off as no rows at all."""
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
            rows.append(_span("free", cal, cursor, min(start, hi)))
        if booking is not None:
            rows.append({"kind": "booking", **booking})
        elif start < hi and end > lo:  # a break within this person's shift
            rows.append(_span("break", cal, max(start, lo), min(end, hi)))
        cursor = max(cursor, end)
    if cursor < hi:
        rows.append(_span("free", cal, cursor, hi))
    return rows


def _at(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _span(kind: str, cal: Calendar, start: datetime, end: datetime) -> dict[str, Any]:
    return {"kind": kind, "start": f"{cal.local(start):%H:%M}", "end": f"{cal.local(end):%H:%M}"}


def in_brief(cal: Calendar, day: date, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """A day of `sheet` per staff member in a few numbers, for a week at a glance: their shift
    ("" off), bookings, open conflicts and free minutes."""
    out: dict[str, Any] = {}
    for name, entries in rows.items():
        span = cal.shift(name, day) if name != NO_ONE else None
        booked = [e for e in entries if e["kind"] == "booking"]
        out[name] = {
            "shift": f"{span[0]:%H:%M}-{span[1]:%H:%M}" if span else "",
            "bookings": len(booked),
            "conflicts": sum(1 for e in booked if e["open_conflicts"]),
            "free_minutes": sum(_minutes(e["start"], e["end"]) for e in entries if e["kind"] == "free"),
        }
    return out


def _minutes(start: str, end: str) -> int:
    (h1, m1), (h2, m2) = (map(int, start.split(":")), map(int, end.split(":")))
    return ((h2 * 60 + m2) - (h1 * 60 + m1)) % (24 * 60)
