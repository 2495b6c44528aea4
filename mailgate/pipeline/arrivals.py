"""Stored messages announced to a worker pass that waits for them (serve: SMTP intake and IMAP).

A pass that ran out of work used to end, and the next one began when intake woke the server's
loop: a new pass paid for reaping stale claims (a write transaction), a thread to renew leases and
a thread pool each time, and the outbox sender was only woken when the pass ended. Now the pass
stays, waiting here, and claims the next message as soon as intake has committed it.
"""

from __future__ import annotations

import threading


class Arrivals:
    """A counter of announcements that a waiting pass wakes on; safe from any thread."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0
        self._seen = 0
        self._closed = False
        self.waiting = 0  # passes waiting now (for tests)
        self.woken = 0  # waits that ended because something was announced (for tests)

    def announce(self) -> None:
        """Something was stored: a waiting pass takes it now."""
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seconds: float) -> bool:
        """True when something was announced since the last wait (at once if already); False after
        `seconds` with nothing, or once closed."""
        with self._changed:
            self.waiting += 1
            try:
                self._changed.wait_for(lambda: self._closed or self._count != self._seen, seconds)
            finally:
                self.waiting -= 1
            if self._closed or self._count == self._seen:
                return False
            self._seen = self._count
            self.woken += 1
            return True

    def close(self) -> None:
        """Serve is stopping: a waiting pass ends now, and none waits again."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
