"""`python -m tests.e2e.killpoint ARGS...` runs `mailgate ARGS...` that SIGKILLs itself at a chosen,
deterministic point. Nothing of this is in mailgate itself.

$MAILGATE_TEST_KILL_AT: just before the Nth execution ($MAILGATE_TEST_KILL_NTH, default 1) of an SQL
statement starting with this text (case-insensitive). "UPDATE message SET claimed_by" opens the
transaction that records a message's outcome (decided, not recorded); "UPDATE outbox SET claimed_by"
opens the one that records a delivery (delivered, not recorded).
"after commit: outbox": just after the first transaction that queued an outbox row has committed
(the message applied, its reply not yet sent).
"""

from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

AT = os.environ["MAILGATE_TEST_KILL_AT"].upper()
NTH = int(os.environ.get("MAILGATE_TEST_KILL_NTH", "1"))
seen = 0


AFTER_COMMIT = "AFTER COMMIT: "


@event.listens_for(Engine, "before_cursor_execute")
def _die_here(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
    global seen
    if statement.lstrip().upper().startswith(AT):
        seen += 1
        if seen >= NTH:
            os.kill(os.getpid(), signal.SIGKILL)


@event.listens_for(Session, "after_attach")
def _arm(session: Session, instance: object) -> None:
    """A row of the table joins the session: added to be flushed, or inserted at once
    (mailgate/write_now.py) and attached after."""
    table = AT.removeprefix(AFTER_COMMIT).lower()
    if AT.startswith(AFTER_COMMIT) and getattr(instance, "__tablename__", "") == table:
        session.info["kill_after_commit"] = True


@event.listens_for(Session, "after_commit")
def _die_after(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: nothing is committed yet
        return
    if session.info.pop("kill_after_commit", False):
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    from mailgate.cli import main

    sys.argv = ["mailgate", *sys.argv[1:]]
    main()
