"""`mailgate poll`: read the [imap] mailbox, store what is new, then process it."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import app, build_context, fail, load_config, setup_logging


@app.command(rich_help_panel=output.MESSAGES)
def poll(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="one pass, then exit (default: IDLE until Ctrl-C)")
    ] = False,
    process: Annotated[bool, typer.Option(help="process after storing (--no-process: store only)")] = True,
) -> None:
    """Store new mail from the [imap] mailbox (then flag or move it, never delete) and process it."""
    from imapclient.exceptions import IMAPClientError

    from mailgate.inbound import imap, imap_session
    from mailgate.pipeline.worker import process_pending

    cfg = load_config(ctx)
    if cfg.imap is None:
        raise fail(f"{cfg.source or 'the built-in defaults'}: no [imap] section: no mailbox to poll", 1)
    setup_logging()
    c = build_context(cfg)
    try:
        imap_session.credentials(cfg)
    except imap_session.ImapError as e:
        raise fail(f"imap: {e}", 1) from None
    if once:
        try:
            result = imap.poll_once(cfg, c.engine)
        except (imap_session.ImapError, IMAPClientError, OSError) as e:
            raise fail(f"imap: {imap_session.problem(e)}", 1) from None
        big = f", too big (left in the mailbox) {result.too_big}" if result.too_big else ""
        typer.echo(f"stored {result.stored}, already stored {result.duplicates}{big}")
        if process:
            typer.echo(f"processed {process_pending(c)}")
        return

    def after(result: imap.PassResult) -> None:
        typer.echo(f"stored {result.stored}, processed {process_pending(c) if process else 0}")

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # finish the message at hand, then log out
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"polling {imap_session.describe(cfg)}; Ctrl-C stops", err=True)
    imap.poll_forever(cfg, c.engine, stop, on_stored=after)
    typer.echo("stopped", err=True)
