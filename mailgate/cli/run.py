"""Running mailgate: serve, ingest files, process what is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import (
    app,
    build_context,
    fail,
    load_config,
    setup_logging,
)


@app.command(rich_help_panel=output.SETUP)
def serve(
    ctx: typer.Context,
    smtp: Annotated[str | None, typer.Option(help="HOST:PORT for SMTP (default 127.0.0.1:2525)")] = None,
    http: Annotated[
        str | None, typer.Option(help="HOST:PORT for the link pages (default 127.0.0.1:8025)")
    ] = None,
    var: Annotated[str | None, typer.Option(help="runtime data directory (default var/)")] = None,
    worker: Annotated[bool, typer.Option(help="process stored mail (--no-worker: store only)")] = True,
) -> None:
    """Run SMTP, the link pages, the worker and the outbox sender."""
    from mailgate.schema import SchemaError
    from mailgate.server import serve as run

    cfg = load_config(ctx, smtp=smtp, http=http, var=var)
    setup_logging()
    c = build_context(cfg, check_schema=False)  # serve checks it, and waits while it cannot
    try:
        asyncio.run(run(c, process=worker))
    except SchemaError as e:
        raise fail(str(e), 1) from None
    except OSError as e:
        raise fail(f"cannot start: {e}", 1) from None


@app.command(rich_help_panel=output.MESSAGES)
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help=".eml files, directories (Maildir or *.eml), mbox files")
    ],
    rcpt: Annotated[
        str | None, typer.Option(help="envelope recipient (default: our addresses in the headers)")
    ] = None,
    process: Annotated[bool, typer.Option(help="process after storing (--no-process: store only)")] = True,
) -> None:
    """Store and process mail from files, exactly as if it came by SMTP."""
    from mailgate.inbound.files import iter_messages, local_recipients
    from mailgate.inbound.store import store
    from mailgate.pipeline.worker import process as process_one

    cfg = load_config(ctx)
    setup_logging()
    c = build_context(cfg)
    failed = 0
    for path in paths:
        if not path.exists():
            raise fail(f"{path}: no such file or directory")
        for label, raw in iter_messages(path):
            rcpts = [rcpt] if rcpt else local_recipients(raw, cfg.is_local)
            stored = store(c.engine, cfg.spool_dir, raw, rcpts, mail_from=None, via="file")
            if not stored.ids:
                typer.echo(f"{label}: already stored as {stored.duplicates}")
                continue
            for mid in stored.ids:
                state = process_one(c, mid) if process else "received"
                failed += state == "failed"
                typer.echo(f"{label}: message {mid} {state}")
    if failed:
        raise typer.Exit(1)


@app.command("process", rich_help_panel=output.MESSAGES)
def process_cmd(ctx: typer.Context) -> None:
    """Process every stored message still in `received`."""
    from mailgate.pipeline.worker import process_pending

    cfg = load_config(ctx)
    setup_logging()
    typer.echo(f"processed {process_pending(build_context(cfg))}")
