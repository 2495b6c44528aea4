"""`mailgate replay`: stored messages through the current rules, or a rules directory to try
(dry run: each message's reading then and now as a diff)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import (
    AsOpt,
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    load_config,
    operator_name,
)


@app.command(rich_help_panel=output.MESSAGES)
def replay(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="message ids")] = None,
    state: Annotated[
        str | None, typer.Option(help="every message in this state, e.g. held or failed")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="messages received from YYYY-MM-DD[THH:MM] (shop time)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="... and before YYYY-MM-DDTHH:MM, or to the end of YYYY-MM-DD")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="read with the rules in this directory (with --dry-run)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would happen; change nothing")
    ] = False,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Run stored messages through the current rules (idempotent: what is in the ledger stays once).
    Each message shows its reading then and now as a diff; an applied message read differently now
    is left for you to decide and counted as a difference."""
    from mailgate.pipeline.replay import replay as run
    from mailgate.pipeline.replay import select_ids

    cfg = load_config(ctx)
    if not ids and not state and not since and not until:
        raise fail("name message ids, --state or --since/--until")
    if rules is not None:
        if not dry_run:
            raise fail(
                "--rules is for trying rules: add --dry-run (install them with [paths] rules to apply)"
            )
        if not rules.is_dir():
            raise fail(f"--rules: {rules} is not a directory", 1)
        cfg = dataclasses.replace(cfg, rules_dir=rules.resolve())
    c = build_context(cfg, read_only=dry_run)
    since_at = _moment(since, cfg.tz, "--since", end_of_day=False)
    until_at = _moment(until, cfg.tz, "--until", end_of_day=True)
    chosen = select_ids(c, list(ids or []), state, since_at, until_at)
    if ids and len(chosen) < len(set(ids)):
        missing = sorted(set(ids) - set(chosen))
        raise fail(f"no message {', '.join(map(str, missing))}", 1)
    with output.progress(len(chosen), "replaying") as step:
        results = run(c, chosen, dry_run=dry_run, operator=operator_name(operator), each=lambda _: step())
    differences = [r for r in results if r.differs]
    if as_json:
        emit_json([asdict(r) | {"differs": r.differs} for r in results])
        return
    for r in results:
        typer.echo(f"{r.message_id:>6}  then: {r.then['state']} ({r.then['action']}) {r.then['reason']}")
        if r.differs:
            typer.echo(f"{'':>6}  - {r.then_reading}\n{'':>6}  + {r.now_reading}")
        now = "would be" if dry_run else "now"
        typer.echo(f"{'':>6}  {now}: {r.now['state']} ({r.now['action']}) {r.now['reason']}")
    done = "checked (dry run: nothing changed)" if dry_run else "replayed"
    typer.echo(f"{len(results)} messages {done}; {len(differences)} differences")
    left = [r.message_id for r in differences if r.now.get("tag") == "differs"]
    if left:
        typer.echo(
            f"applied before and read differently now, left for you to decide: {', '.join(map(str, left))} "
            "(mailgate change / cancel, or mailgate messages ID)"
        )


def _moment(value: str | None, tz: tzinfo, option: str, *, end_of_day: bool) -> datetime | None:
    """A date or a date and time in the shop's zone; a bare date as --until means up to its end."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {value!r}") from None
    if end_of_day and len(value) == 10:
        at += timedelta(days=1)
    return at if at.tzinfo else at.replace(tzinfo=tz)
