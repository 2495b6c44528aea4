"""The calendar a running mailgate uses: rebuilt when the shift table changes on disk, so a shift
set at 8:30 with `mailgate shifts set` counts for the next notice without a restart."""

from __future__ import annotations

import logging
import threading

from mailgate.config import Config, ConfigError
from mailgate.shop.calendar import Calendar

log = logging.getLogger("mailgate.shop")


class LiveCalendar:
    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._lock = threading.Lock()
        self._calendar = Calendar.from_config(cfg)  # a broken table stops the start, loudly
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> int | None:
        if not self._cfg.shop.shifts:
            return None
        try:
            return self._cfg.resolve(self._cfg.shop.shifts).stat().st_mtime_ns
        except OSError:
            return None

    def current(self) -> Calendar:
        stamp = self._file_stamp()
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._calendar = Calendar.from_config(self._cfg)
                    log.info("shift table reloaded")
                except ConfigError as e:  # a half-edited table: keep the last good one, say why
                    log.error("shift table not reloaded, the previous one stays in use:\n%s", e)
                self._stamp = stamp
            return self._calendar
