"""The calendar a running mailgate uses: rebuilt from the database when its version changes (a shift
set at 8:30 with `mailgate shifts set`, on any node, counts for the next notice without a restart)."""

from __future__ import annotations

import asyncio
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
        (and without a connection of its own); by default the transaction this thread has open. On
        the event loop (a page's handler) the calendar last read is used: a query there would stop
        SMTP and every page while it waits for a connection. Every command re-reads it in its own
        transaction, and a node reads it as it starts."""
        session = session or db.open_transaction(self._engine)
        if session is not None:
            return self._current(session)
        if self._calendar is not None and _on_event_loop():
            return self._calendar
        with Session(db.reading(self._engine)) as own:
            return self._current(own)

    def _current(self, session: Session) -> Calendar:
        """Read once per transaction: a batch of notices recorded together asks once. A change to
        the calendar in the same transaction (shift_store.bump) forgets it."""
        return db.kept(session, calendar_db.KEPT, lambda: self._read(session))

    def _read(self, session: Session) -> Calendar:
        # No lock is held while the database is asked: a thread waiting for it would hold up one
        # that holds the write lock and wants the calendar.
        version = calendar_db.version(session)  # one small query; the whole calendar only on change
        with self._lock:
            if self._calendar is not None and version == self._version:
                return self._calendar
        loaded = calendar_db.load(session, self._tz)
        with self._lock:
            if version >= self._version:
                self._calendar, self._version = loaded, version
        return loaded


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
