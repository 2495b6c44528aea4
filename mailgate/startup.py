"""What `serve` makes sure of, and says, as it starts: the database answers (a full disk or a database
away is waited out, never a reason to die), and the limits the process runs with."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from mailgate import schema
from mailgate.context import Context
from mailgate.faults import is_our_own
from mailgate.inbound.smtp import Handler
from mailgate.limits import Budget
from mailgate.shop import importing

log = logging.getLogger("mailgate.server")
RETRY_SECONDS = 1.0  # a cheap query while the database is away


async def database_answers(ctx: Context, handler: Handler) -> bool:
    """The database is reachable and at this mailgate's schema (created, and the shop imported, when
    empty). An error of our
    own (the disk full, PostgreSQL away) is False and the reason is on the SMTP handler; a database
    at another schema raises SchemaError: that needs an operator."""
    try:
        await asyncio.to_thread(_ready, ctx)
    except schema.SchemaError:
        raise
    except Exception as e:
        if not is_our_own(e):
            raise
        handler.unavailable = f"{type(e).__name__}: {e}".splitlines()[0][:200]
        return False
    handler.unavailable = None
    return True


def _ready(ctx: Context) -> None:
    schema.ensure_current(ctx.engine)
    importing.ensure_imported(ctx.engine, ctx.cfg)
    ctx.calendars.current()  # read here, off the event loop: the pages' handlers use it as read


async def wait_for_database(ctx: Context, handler: Handler, stop: asyncio.Event) -> bool:
    """Until the database answers (True) or serve is stopped (False); a log line a minute meanwhile."""
    said = 0.0
    while handler.unavailable is not None:
        if time.monotonic() - said > 60:
            said = time.monotonic()
            log.error("the database is unavailable (%s): refusing mail until it answers", handler.unavailable)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
        if stop.is_set():
            return False
        if await database_answers(ctx, handler):
            log.info("the database answers again: starting the worker and the sender")
    return True


def limit_lines(ctx: Context, budget: Budget, handler: Handler) -> list[str]:
    smtp, web = ctx.cfg.raw.smtp, ctx.cfg.raw.web
    lines = [
        f"  limits    smtp {budget.smtp} connections ({smtp.max_connections_per_client} per client), "
        f"web {budget.web} ({web.max_connections_per_client} per client), {budget.descriptors} descriptors"
    ]
    if budget.reduced:
        lines.append(
            f"            (configured smtp {smtp.max_connections}, web {web.max_connections}: "
            "more than the descriptor limit leaves; raise `ulimit -n`)"
        )
    free = handler.space_left()
    if free is not None and free < handler.space_needed():
        lines.append(
            f"  disk      {ctx.cfg.var_dir} has {free // 1024} KiB free, mail needs "
            f"{handler.space_needed() // 1024} KiB: mail is refused (452) until there is room"
        )
    return lines
