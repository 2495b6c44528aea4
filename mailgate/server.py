"""`mailgate serve`: SMTP, the link pages, the worker and the outbox sender on one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import queue
import signal
import sys
from collections.abc import Iterator

import uvicorn
from sqlmodel import Session

from mailgate import db, links, malloc_arenas, schedule, startup
from mailgate.context import Context
from mailgate.faults import is_our_own
from mailgate.inbound import imap, imap_session, spool
from mailgate.inbound.smtp import Handler, make_smtp
from mailgate.inbound.smtp_connection import SmtpLimits
from mailgate.limits import AcceptErrors, Gate, fit_connections
from mailgate.outbound.sender import Sender
from mailgate.pipeline import isolated
from mailgate.pipeline.arrivals import Arrivals
from mailgate.pipeline.worker import process_pending
from mailgate.rules import binding
from mailgate.shop import importing
from mailgate.web.app import create_app
from mailgate.web.connections import PerClientRequests, limited_protocol, uvicorn_options

log = logging.getLogger("mailgate.server")
POLL_SECONDS = 5.0
SEND_SECONDS = 1.0


class _WebServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # We own SIGTERM/SIGINT for the whole process; uvicorn would re-raise them on exit.
        yield


async def _worker(ctx: Context, arrivals: Arrivals, stop: asyncio.Event, sent: asyncio.Event) -> None:
    """Passes of the worker; a pass waits for intake's next message itself (pipeline/arrivals.py) and
    ends after POLL_SECONDS without one: then stale claims are reaped and a retry that came due is
    found, as before."""
    loop = asyncio.get_running_loop()

    def recorded(_count: int) -> None:
        loop.call_soon_threadsafe(sent.set)  # replies queued: the outbox sender goes now

    while not stop.is_set():
        try:
            await asyncio.to_thread(
                process_pending, ctx, arrivals=arrivals, linger=POLL_SECONDS, on_recorded=recorded
            )
        except Exception as e:  # the database went away, the disk is full: log, wait, try again
            if is_our_own(e):
                log.error("worker pass failed: %s: %s", type(e).__name__, e)
            else:
                log.exception("worker pass failed")
            await asyncio.to_thread(arrivals.wait, POLL_SECONDS)


async def _sender(sender: Sender, stop: asyncio.Event, wake: asyncio.Event) -> None:
    """Passes over the outbox; each claims its rows and does its database, file and signing work in
    worker threads, so SMTP and HTTP on this loop are never kept waiting."""
    try:
        await asyncio.to_thread(sender.start)
    except OSError:
        log.exception("cleaning the outbox Maildir's tmp/ failed")
    while not stop.is_set():
        wake.clear()
        try:
            await sender.send_due()
        except Exception:
            log.exception("outbox pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first(wake, stop), SEND_SECONDS)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def _banner(ctx: Context, process: bool, warnings: list[str]) -> str:
    cfg = ctx.cfg
    smtp_host, smtp_port = cfg.smtp_listen
    out = (
        f"Maildir {cfg.outbox_dir} (no relay set)"
        if not cfg.outbound.relay
        else f"relay {cfg.outbound.relay}"
    )
    dkim = (
        f"{cfg.outbound.dkim_selector}._domainkey.{cfg.dkim_domain}" if cfg.dkim_key_path else "off (no key)"
    )
    lines = [
        f"mailgate serving {cfg.shop.name}",
        f"  config    {cfg.source or '(built-in defaults)'}",
        f"  smtp      {smtp_host}:{smtp_port}  for {cfg.mail.signup}, {cfg.mail.notices}, {cfg.mail.book}",
        f"  web       {cfg.base_url}  (listening on {cfg.web_listen[0]}:{cfg.web_listen[1]})",
        f"  database  {ctx.engine.url.render_as_string(hide_password=True)}",
        f"  spool     {cfg.spool_dir}",
        f"  outbound  {out}",
        f"  dkim      {dkim}",
        f"  rules     {cfg.rules_dir} ({', '.join(ctx.rules.files)}, version {ctx.rules.version})",
        f"  templates {cfg.templates_dir}",
    ]
    if cfg.imap is not None:
        lines.append(f"  imap      {imap_session.describe(cfg)}")
    if not process:
        lines.append("  worker    OFF (--no-worker): mail is stored, not processed")
    lines += [f"  warning   {w}" for w in warnings]
    lines += [f"  {line}" for line in binding.warnings(ctx.rules, cfg)]
    return "\n".join(lines)


def _calendar_drift(ctx: Context) -> list[str]:
    with Session(db.reading(ctx.engine)) as session:
        return importing.differences(session, ctx.cfg.shop)


@contextlib.contextmanager
def _logging_from_a_thread() -> Iterator[None]:
    """Log lines are written by a thread of their own: on the loop, a write that blocks (a full
    pipe, a disk held up by other processes' writeback) stops SMTP and the pages with it; a
    suspect for the ~8 s stall seen under load (README "Latency from 250 to the outbox")."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(lines, *handlers, respect_handler_level=True)
    to_queue = logging.handlers.QueueHandler(lines)
    for handler in handlers:
        root.removeHandler(handler)
    root.addHandler(to_queue)
    listener.start()
    try:
        yield
    finally:
        root.removeHandler(to_queue)
        listener.stop()  # writes what is queued
        for handler in handlers:
            root.addHandler(handler)


async def serve(ctx: Context, *, process: bool = True) -> None:
    malloc_arenas.limit()  # before our threads start
    with _logging_from_a_thread():
        await _serve(ctx, process=process)


async def _serve(ctx: Context, *, process: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    arrivals, sent = Arrivals(), asyncio.Event()
    # The readers' interpreters start while the servers do (a child sent its setup blocks until it
    # has imported mailgate, a second or more on a busy machine).
    readers = asyncio.create_task(
        asyncio.to_thread(isolated.start_readers, ctx) if process else asyncio.sleep(0)
    )
    if ctx.cfg.imap is not None:
        try:
            imap_session.credentials(ctx.cfg)  # a missing password is a startup error, not a retry loop
        except imap_session.ImapError as e:
            raise SystemExit(f"cannot start: imap: {e}") from None
    sender = Sender.build(ctx.cfg, ctx.engine)
    for path in await asyncio.to_thread(spool.clean_tmp, ctx.cfg.spool_dir):
        log.info("removed %s: left in the spool by a writer that was killed", path.name)
    loop.set_exception_handler(AcceptErrors())
    smtp_cfg, web_cfg = ctx.cfg.raw.smtp, ctx.cfg.raw.web
    budget = fit_connections(smtp_cfg.max_connections, web_cfg.max_connections)
    handler = Handler(ctx.cfg, ctx.engine, on_stored=arrivals.announce)
    await asyncio.to_thread(handler.intake.writer.warm)  # its start-up is not the first client's wait
    limits = SmtpLimits.of(smtp_cfg, budget.smtp)
    host, port = ctx.cfg.smtp_listen
    smtp = await loop.create_server(lambda: make_smtp(ctx.cfg, handler, limits), host, port)
    web_host, web_port = ctx.cfg.web_listen
    web_gate = Gate(budget.web, web_cfg.max_connections_per_client, exempt=web_cfg.trusted_proxies)
    web = _WebServer(
        uvicorn.Config(
            PerClientRequests(create_app(ctx), web_cfg.max_connections_per_client),
            host=web_host,
            port=web_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            http=limited_protocol(web_gate, web_cfg.request_seconds),
            **uvicorn_options(web_cfg.trusted_proxies),
        )
    )
    tasks = [asyncio.create_task(web.serve())]
    while not web.started:
        if tasks[0].done():
            await tasks[0]  # raises the bind error
            raise SystemExit(f"web server on {web_host}:{web_port} did not start")
        await asyncio.sleep(0.05)
    warnings = [w for w in (links.length_warning(ctx.signer),) if w]
    for warning in warnings:
        log.warning("%s", warning)
    lines = [_banner(ctx, process, warnings), *startup.limit_lines(ctx, budget, handler)]
    available = await startup.database_answers(ctx, handler)
    if not available:
        lines.append(f"  database  unavailable ({handler.unavailable}): mail is refused until it answers")
    print("\n".join(lines), flush=True)
    if available:
        for line in await asyncio.to_thread(_calendar_drift, ctx):
            log.warning("%s (the database counts; `mailgate shop import` makes it the config's)", line)
    print("ready", flush=True)  # SMTP and the pages answer: a full disk or a database away is no cause to die
    scheduler = None
    if await startup.wait_for_database(ctx, handler, stop):
        tasks.append(asyncio.create_task(_sender(sender, stop, sent)))
        if ctx.cfg.imap is not None:

            def imap_stored(_result: imap.PassResult) -> None:
                arrivals.announce()  # from the IMAP thread: wake the worker, as SMTP does

            tasks.append(asyncio.create_task(imap.run(ctx.cfg, ctx.engine, stop, imap_stored)))
        if process:
            try:
                await readers  # started meanwhile: the first messages do not wait for them
            except Exception:
                log.exception("starting the readers failed; the first messages start them")
            tasks.append(asyncio.create_task(_worker(ctx, arrivals, stop, sent)))
            scheduler = schedule.start(ctx)
    await stop.wait()
    log.info("stopping")
    arrivals.close()  # a worker pass waiting for mail ends now
    smtp.close()
    await smtp.wait_closed()
    await asyncio.to_thread(handler.intake.close)
    web.should_exit = True
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    await asyncio.gather(*tasks, return_exceptions=True)
    isolated.stop_all()
    ctx.engine.dispose()
    print("mailgate stopped", file=sys.stderr, flush=True)
