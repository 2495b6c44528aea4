"""Several workers on one database (processes, as `mailgate process` and `serve` run side by side):
every stored message is applied exactly once and answered exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

from sqlmodel import Session, col, func, select

from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Message, Outbox

WORKERS = 4
MAILS = 60


def blank(addr: str, n: int) -> bytes:
    return f"From: {addr}\r\nTo: signup@shop.example\r\nMessage-ID: <c{n}@example.jp>\r\n\r\n".encode()


def test_four_processes_at_once_apply_each_message_once(db_ctx: Context) -> None:
    for n in range(MAILS):
        store(
            db_ctx.engine,
            db_ctx.cfg.spool_dir,
            blank(f"w{n}@example.jp", n),
            ["signup@shop.example"],
            mail_from=None,
            via="file",
        )
    assert db_ctx.cfg.source is not None
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mailgate", "--config", str(db_ctx.cfg.source), "process"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    with Session(db_ctx.engine) as s:
        states = dict(s.exec(select(Message.state, func.count()).group_by(Message.state)).all())
        per_address = s.exec(
            select(Outbox.to_key, func.count()).group_by(Outbox.to_key).having(func.count() > 1)
        ).all()
        replies = s.exec(select(func.count()).select_from(Outbox)).one()
        attempts = s.exec(select(func.max(col(Message.attempts)))).one()
    assert states == {"applied": MAILS}
    assert per_address == []
    assert replies == MAILS
    assert attempts == 1  # taken once each: nobody processed a message another worker held
    total = sum(int(out.split()[-1]) for out, _ in outputs)
    assert total == MAILS, outputs
