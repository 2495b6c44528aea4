"""`python -m tests.outbound.killed_sender CONFIG`: one outbox pass that SIGKILLs its own process as
the first outcome is being committed. The mail has gone out; the database does not know."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session

from mailgate import config, db
from mailgate.models import Outbox, OutboxState
from mailgate.outbound.sender import Sender


def _die_before_sent_is_committed(session: Session) -> None:
    if any(isinstance(o, Outbox) and o.state == OutboxState.SENT for o in session.identity_map.values()):
        os.kill(os.getpid(), signal.SIGKILL)


def main(config_path: str) -> None:
    cfg = config.load(Path(config_path))
    event.listen(Session, "before_commit", _die_before_sent_is_committed)
    asyncio.run(Sender.build(cfg, db.make_engine(cfg.db_url)).send_due())
    sys.exit("the pass ended without recording a sent mail")


if __name__ == "__main__":
    main(sys.argv[1])
