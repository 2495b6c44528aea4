"""Personal data: erasing a customer on request, purging raw mail past its retention."""

from __future__ import annotations

from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import (
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    fmt_dt,
    load_config,
    operator_name,
)

customers_app = typer.Typer(
    invoke_without_command=True,
    help="Customers: search, show, edit, merge, extra addresses; who mail cannot reach; erasing one.",
)
app.add_typer(customers_app, name="customers", rich_help_panel=output.CUSTOMERS)


@customers_app.callback()
def customers_list(
    ctx: typer.Context,
    unreachable: Annotated[
        bool, typer.Option("--unreachable", help="customers whose address bounced: since when, and why")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """`customers --unreachable`: the customers no automatic mail goes to, with the reason and date."""
    if ctx.invoked_subcommand:
        return
    if not unreachable:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from sqlmodel import Session

    from mailgate.ledger.bounces import unreachable as failing

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        rows = failing(s)
    if as_json:
        keys = {"id", "email", "name", "status", "unreachable_since", "unreachable_reason", "soft_bounces"}
        emit_json([r.model_dump(include=keys) for r in rows])
        return
    if not rows:
        typer.echo("no unreachable customers")
        return
    output.show_table(
        ["#", "since", "address", "name", "why"],
        ([f"#{r.id}", fmt_dt(r.unreachable_since, cfg), r.email, r.name, r.unreachable_reason] for r in rows),
        title="customers no automatic mail goes to",
        zone=cfg.tz.key,
    )


@customers_app.command("erase")
def customers_erase(
    ctx: typer.Context,
    customer_id: Annotated[int, typer.Argument(help="the customer's id (`audit --customer` shows it)")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    operator: Annotated[
        str, typer.Option("--as", "--operator", help="who is acting (recorded in the audit; default: you)")
    ] = "",
) -> None:
    """Erase a customer (a request under APPI): name, reading, phone, addresses, their mail in the
    database, the spool and the outbox. Bookings keep an anonymous customer."""
    from mailgate.pipeline.erasure import erase_customer

    cfg = load_config(ctx)
    c = build_context(cfg)
    if not yes:
        typer.confirm(f"Erase customer {customer_id}? This cannot be undone.", abort=True)
    try:
        erased = erase_customer(c, customer_id, f"operator:{operator_name(operator)}")
    except LookupError as e:
        raise fail(str(e), 1) from None
    typer.echo(
        f"erased customer {customer_id}: {len(erased.messages)} messages, {erased.outbox} outgoing mails, "
        f"{erased.events} audit events scrubbed; {len(erased.spool_files)} spool files and "
        f"{len(erased.maildir_names)} sent copies removed"
    )


@app.command(rich_help_panel=output.MESSAGES)
def purge(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would go, change nothing")] = False,
    now: Annotated[str | None, typer.Option(help="as if it were this time (ISO 8601)", hidden=True)] = None,
) -> None:
    """Purge raw mail older than [retention] raw_days (never a held or failed message's), and the
    text of mail sent that long ago; the rows stay, so a late redelivery is still a duplicate.
    `serve` does this every night."""
    from datetime import datetime

    from mailgate.models import utcnow
    from mailgate.pipeline.retention import purge as do_purge

    cfg = load_config(ctx)
    c = build_context(cfg)
    try:
        when = datetime.fromisoformat(now) if now else utcnow()
    except ValueError:
        raise fail(f"expected a time like 2026-12-03T10:00:00+09:00, got {now!r}") from None
    done = do_purge(c, when, dry_run=dry_run)
    for message_id, received, state in done.messages:
        typer.echo(f"message {message_id} ({state}, received {fmt_dt(received, cfg)}): raw mail")
    for outbox_id in done.outbox:
        typer.echo(f"outbox {outbox_id}: the text of a sent mail")
    verb = "would purge" if dry_run else "purged"
    typer.echo(
        f"{verb} {len(done.messages)} raw messages and the text of {len(done.outbox)} sent mails "
        f"(older than {cfg.retention.raw_days} days)"
    )
