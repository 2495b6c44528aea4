"""What one client may hold of a listener, and what the listeners together may hold of the process.

20,100 HTTP connections that each sent one header line once took every file descriptor: SMTP, the
pages and the database all stopped. Each listener now counts its connections, in total and per
client, and the totals are fitted under the descriptor limit with room left for the database,
spool files and the rest, so one listener running full never starves the other.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("mailgate.limits")

# Descriptors kept for everything that is not a client connection: the database (a pool of
# connections, SQLite's WAL files), spool and outbox files, IMAP, the relay, the reader child, logs.
RESERVED_DESCRIPTORS = 64


class Gate:
    """Connections one listener holds, in total and per client. `exempt` clients (a front MTA, a
    reverse proxy) carry many people's connections and count only towards the total."""

    def __init__(self, total: int, per_client: int, exempt: Iterable[str] = ()) -> None:
        self.total, self.per_client, self.exempt = total, per_client, frozenset(exempt)
        self.held: dict[str, int] = {}
        self.count = 0

    def admit(self, client: str) -> str | None:
        """None, and the connection counted; or why it is refused."""
        if self.count >= self.total:
            return f"too many connections ({self.total})"
        if client not in self.exempt and self.held.get(client, 0) >= self.per_client:
            return f"too many connections from {client} ({self.per_client})"
        self.count += 1
        self.held[client] = self.held.get(client, 0) + 1
        return None

    def release(self, client: str) -> None:
        self.count -= 1
        left = self.held.get(client, 0) - 1
        if left > 0:
            self.held[client] = left
        else:
            self.held.pop(client, None)

    def move(self, old: str, new: str) -> str | None:
        """The connection is really `new`'s (XCLIENT from a front MTA): counted as theirs, or refused."""
        if new not in self.exempt and self.held.get(new, 0) >= self.per_client:
            return f"too many connections from {new} ({self.per_client})"
        self.release(old)
        self.count += 1
        self.held[new] = self.held.get(new, 0) + 1
        return None


class Rate:
    """At most `limit` events per client in any 60 seconds."""

    WINDOW = 60.0

    def __init__(self, limit: int, clock: Any = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self.seen: dict[str, deque[float]] = {}

    def allow(self, client: str) -> bool:
        now = self.clock()
        if len(self.seen) > 10_000:  # forget clients that went quiet, now and then
            self.seen = {k: v for k, v in self.seen.items() if v and v[-1] > now - self.WINDOW}
        times = self.seen.setdefault(client, deque())
        while times and times[0] <= now - self.WINDOW:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


@dataclass(frozen=True)
class Budget:
    smtp: int
    web: int
    descriptors: int  # the soft RLIMIT_NOFILE the process runs with
    reduced: bool  # the configured totals did not fit


def fit_connections(smtp: int, web: int) -> Budget:
    """The listeners' totals, fitted under the descriptor limit (raised to the hard limit first)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = smtp + web + RESERVED_DESCRIPTORS
    if wanted > soft and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    room = soft - RESERVED_DESCRIPTORS
    if smtp + web <= room:
        return Budget(smtp, web, soft, reduced=False)
    room = max(room, 2)
    fitted_smtp = max(1, room * smtp // (smtp + web))
    return Budget(fitted_smtp, max(1, room - fitted_smtp), soft, reduced=True)


class EveryMinute:
    """For log lines a flood would repeat: True at most once a minute per key; `skipped` says how
    many were held back since."""

    EVERY = 60.0

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def due(self, key: str) -> bool:
        now = self.clock()
        if key in self.last and now - self.last[key] < self.EVERY:
            self.held[key] = self.held.get(key, 0) + 1
            return False
        self.last[key] = now
        return True

    def skipped(self, key: str) -> int:
        return self.held.pop(key, 0)


class AcceptErrors:
    """An event loop exception handler that logs "out of descriptors" on accept once a minute.

    asyncio (3.11) reports EMFILE once per pending connection, up to the listen backlog (2048 for
    uvicorn) every second, each with a traceback: 529 MB of log in 2.5 minutes."""

    MESSAGE = "socket.accept() out of system resource"

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.minute = EveryMinute(clock)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != self.MESSAGE:
            loop.default_exception_handler(context)
            return
        if self.minute.due(self.MESSAGE):
            log.error(
                "cannot accept connections: %s (%d more such errors since the last report; "
                "accepting again in 1 s)",
                context.get("exception"),
                self.minute.skipped(self.MESSAGE),
            )
