"""Which reminders are due, from the bookings alone (pure: no database, no clock of its own).

A reminder's moment is its offset rule applied to the booking's start, like a deadline ("1d18:00":
the day before at 18:00, "2h": two hours before). It is due once the moment has passed and the booking
has not started; if the moment passed longer ago than the catch-up window (mailgate was down), it is
skipped rather than sent late, and the caller records that so it is not looked at again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailgate import deadlines

PREFIX = "remind:"


@dataclass(frozen=True)
class Planned:
    """A booking that may be reminded, and the offsets of its menu."""

    booking_id: int
    version: int
    start: datetime
    offsets: tuple[str, ...]


@dataclass(frozen=True)
class Due:
    booking_id: int
    version: int
    kind: str  # PREFIX + the offset rule
    at: datetime  # the reminder's moment
    send: bool  # False: missed by more than the catch-up window, to be recorded as skipped

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.booking_id, self.kind, self.version)


def kind_of(offset: str) -> str:
    return PREFIX + offset.strip()


def lead(offset: str) -> timedelta:
    """How long before the start the offset's moment can be, at most (for the query's horizon):
    "1d18:00" of a booking at 00:30 is almost two days before it."""
    probe = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    exact = probe - deadlines.latest(offset, probe, ZoneInfo("UTC"))
    return exact + timedelta(days=1) if ":" in offset else exact


def due(
    bookings: Iterable[Planned],
    now: datetime,
    window: timedelta,
    tz: ZoneInfo,
    done: Collection[tuple[int, str, int]] = (),
) -> list[Due]:
    """The reminders to queue or to skip now, in the order of their moments; `done` holds the keys
    (booking id, kind, version) already recorded."""
    found = []
    for b in bookings:
        if b.start <= now:
            continue  # over or under way: too late for any reminder
        for offset in dict.fromkeys(b.offsets):
            at = deadlines.latest(offset, b.start, tz)
            key = (b.booking_id, kind_of(offset), b.version)
            if at > now or key in done:
                continue
            found.append(Due(b.booking_id, b.version, key[1], at, send=now - at <= window))
    return sorted(found, key=lambda d: (d.at, d.booking_id, d.kind))


def window_of(span: str) -> timedelta:
    """ "6h" as a length of time."""
    return lead(span)
