"""The calendar a running mailgate uses: rebuilt from the database when its version changes (a shift
set at 8:30 with `mailgate shifts set`, on any node, counts for the next notice without a restart)."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailgate import db
from mailgate.shop import calendar_db
from mailgate.shop.calendar import Calendar


class LiveCalendar:
    def __init__(self, engine: Engine, tz: ZoneInfo) -> None:
        self._engine = engine
        self._tz = tz
        self._lock = threading.Lock()
        self._calendar: Calendar | None = None
        self._version = -1

    def current(self, session: Session | None = None) -> Calendar:
        """session: a caller's own, to read the version in the same transaction as what it reads next
        (and without a connection of its own)."""
        if session is not None:
            return self._current(session)
        with Session(db.reading(self._engine)) as own:
            return self._current(own)

    def _current(self, session: Session) -> Calendar:
        with self._lock:
            version = calendar_db.version(session)  # one small query; the whole calendar only on change
            if self._calendar is None or version != self._version:
                self._calendar, self._version = calendar_db.load(session, self._tz), version
            return self._calendar
