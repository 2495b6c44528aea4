"""`python -m tests.e2e.fillpoint ARGS...` runs `mailgate ARGS...` that fills a file system at a chosen,
deterministic point, as a disk filling up under a running mailgate would. Nothing of this is in
mailgate itself.

$MAILGATE_TEST_FILL_AT: just before the first execution of an SQL statement starting with this text
(case-insensitive), $MAILGATE_TEST_FILL (a file on the file system to fill) is written until the
file system has no room left. "UPDATE message SET claimed_by" opens the transaction that records a
message's outcome (decided, not recorded).
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import event
from sqlalchemy.engine import Engine


def fill(path: str) -> None:
    """Write zeros to path until the file system is full."""
    with open(path, "ab", buffering=0) as f:
        block = b"\0" * 65536
        while block:
            try:
                f.write(block)
            except OSError:  # ENOSPC: smaller pieces, down to the last byte
                block = block[: len(block) // 2]


def fill_at(at: str, filler: str) -> None:
    done = False

    @event.listens_for(Engine, "before_cursor_execute")
    def _fill_here(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        nonlocal done
        if not done and statement.lstrip().upper().startswith(at.upper()):
            done = True
            fill(filler)


if __name__ == "__main__":
    from mailgate.cli import main

    fill_at(os.environ["MAILGATE_TEST_FILL_AT"], os.environ["MAILGATE_TEST_FILL"])
    sys.argv = ["mailgate", *sys.argv[1:]]
    main()
