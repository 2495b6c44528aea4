"""`mailgate tasks`: the work queue across customers (ledger/tasks.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, app, build_context, emit_json, load_config
from mailgate.cli.notes import day_option


@app.command(
    rich_help_panel=output.DAILY,
    epilog="Example: mailgate tasks --assignee 佐藤 --due",
)
def tasks(
    ctx: typer.Context,
    assignee: Annotated[str | None, typer.Option(help="only this person's tasks")] = None,
    open_only: Annotated[
        bool, typer.Option("--open/--all", help="only what is not done (the default), or done ones too")
    ] = True,
    due: Annotated[
        bool, typer.Option("--due", help="only what is due by --date (today), overdue included")
    ] = False,
    day: Annotated[
        str | None, typer.Option("--date", help="the day the queue is for, YYYY-MM-DD (default: today)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The work queue: operators' notes not done and inquiries with an assignee or a next-action day,
    by next-action day; overdue ones first, marked 期限切れ."""
    from mailgate.ledger.tasks import KIND_LABELS
    from mailgate.ledger.tasks import tasks as queue
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    on = day_option(day, "--date") if day else utcnow().astimezone(cfg.tz).date()
    with Session(c.engine) as s:
        found = queue(s, on, assignee=assignee, open_only=open_only, due=due)
    if as_json:
        emit_json([asdict(t) | {"kind_label": KIND_LABELS[t.kind]} for t in found])
        return
    rows = [
        (
            f"{t.next_on or '-'}" + (" 期限切れ" if t.overdue else ""),
            f"{KIND_LABELS[t.kind]} ({t.kind} {t.id})",
            f"#{t.customer_id} {t.customer}" if t.customer_id else t.customer,
            t.title,
            t.status_label,
            t.assignee,
        )
        for t in found
    ]
    overdue = sum(t.overdue for t in found)
    output.show_table(
        ("next", "task", "customer", "title", "status", "assignee"),
        rows,
        title=f"tasks as of {on}: {len(found)}" + (f" ({overdue} overdue)" if overdue else ""),
    )
