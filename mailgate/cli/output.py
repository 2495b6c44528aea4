"""Tables for people (Rich) and the panels `--help` groups commands under."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

# `--help` lists commands under these headings, in this order (cli/common.py GroupedCommands).
DAILY = "Daily work"
CUSTOMERS = "Customers"
MESSAGES = "Messages"
DATA = "Data in and out"
SETUP = "Setup and running"
PANELS = (DAILY, CUSTOMERS, MESSAGES, DATA, SETUP)
PIPE_WIDTH = 1000


def console() -> Console:
    """Writes to the current stdout (Typer's test runner swaps it). A terminal gets its own width; a
    pipe or file gets each row whole on one line (a table is as wide as its cells, never padded), so
    `grep` finds a row: COLUMNS is not asked, as shells and test runners export 80 for a pipe too."""
    width = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(file=sys.stdout, width=width, highlight=False, markup=False, emoji=False)


def show_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    zone: str | None = None,
) -> None:
    """One table; `zone` (e.g. Asia/Tokyo) goes in the caption so every time has its zone beside it."""
    table = Table(title=title, caption=f"times in {zone}" if zone else None, title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("-" if v is None or v == "" else str(v) for v in row))
    console().print(table)


# Fewer items than this finish before a bar would tell anyone anything.
PROGRESS_FROM = 20


@contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[], None]]:
    """A step function for a long loop: a Rich progress bar on stderr when it is a terminal (never in
    a pipe, a log or a test), nothing otherwise."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield lambda: None
        return
    with Progress(console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda: bar.advance(task)
