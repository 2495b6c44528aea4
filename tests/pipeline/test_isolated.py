"""Reading a message happens in a child process with a CPU limit: a message that would take forever
is failed with the reason and the next one is read by a fresh child, in this process's worker and
without holding its GIL."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlmodel import Session

from mailgate import config
from mailgate.config import shipped_dir
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Message
from mailgate.pipeline import claim, isolated
from mailgate.pipeline.worker import process_pending
from tests.conftest import write_config

# A shop's own rule whose pattern backtracks exponentially on "aaa...ab": the kind of thing the time
# limit is for, since mailgate's own patterns are all linear (tests/*/test_linear_time.py).
SLOW_RULE = """
source = "slow"

[[rule]]
name = "catastrophic"
rcpt = ["{mail.notices}"]
subject = ['^(a|aa)+$']
action = "hold"
"""


def slow_shop(directory: Path, seconds: int = 1, db_url: str | None = None) -> Path:
    rules = directory / "rules"
    shutil.copytree(shipped_dir("rules"), rules, ignore=shutil.ignore_patterns("__*"))
    (rules / "slow.toml").write_text(SLOW_RULE, encoding="utf-8")
    db = f'[db]\nurl = "{db_url}"\n' if db_url else ""
    path = write_config(directory, 'rules = "rules"\n' + db, database=not db_url)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[mail]\n", f"[mail]\nread_cpu_seconds = {seconds}\n"), encoding="utf-8")
    return path


def put(ctx: Context, rcpt: str, subject: str, n: int) -> int:
    raw = f"From: c@example.jp\r\nTo: {rcpt}\r\nSubject: {subject}\r\nMessage-ID: <i{n}@example.jp>\r\n\r\n"
    stored = store(ctx.engine, ctx.cfg.spool_dir, raw.encode(), [rcpt], mail_from="c@example.jp", via="smtp")
    [mid] = stored.ids
    return mid


def test_a_message_that_reads_too_long_fails_alone_and_the_next_is_read(tmp_path: Path) -> None:
    ctx = Context.build(config.load(slow_shop(tmp_path)))
    slow = put(ctx, "notices@shop.example", "a" * 80 + "b", 1)
    blank = put(ctx, "signup@shop.example", "", 2)
    assert process_pending(ctx) == 2
    with Session(ctx.engine) as s:
        failed, answered = s.get(Message, slow), s.get(Message, blank)
        assert failed is not None and answered is not None
        assert failed.state == "failed"
        assert "used more than 1 s of CPU" in failed.reason
        assert answered.state == "applied"


def test_a_reader_ended_while_idle_is_replaced_and_the_message_read(ctx: Context) -> None:
    first = put(ctx, "signup@shop.example", "", 1)
    assert process_pending(ctx) == 1
    for reader in isolated._idle:  # whatever ends idle children: an operator, the OOM killer
        reader.process.kill()
        reader.process.wait()
    second = put(ctx, "signup@shop.example", "", 2)
    assert process_pending(ctx) == 1
    with Session(ctx.engine) as s:
        states = [row.state for row in (s.get(Message, first), s.get(Message, second)) if row is not None]
    assert states == ["applied", "applied"]


def test_readers_started_ahead_read_the_first_messages(ctx: Context) -> None:
    isolated.stop_all()
    isolated.reads_by_pid.clear()
    started = isolated.start_readers(ctx)
    assert len(started) == isolated.pool_size()
    assert isolated.start_readers(ctx) == []  # the pool is full: none more
    for n in range(4):
        put(ctx, "signup@shop.example", "", n)
    assert process_pending(ctx) == 4
    assert sum(isolated.reads_by_pid.values()) == 4
    assert set(isolated.reads_by_pid) <= set(started)  # no reader had to be started for them


def test_a_reader_starts_without_the_database_layer() -> None:
    """A reader imports what reading needs: SQLAlchemy and SQLModel had been two thirds of its
    start-up, paid for every reader at every serve start."""
    code = "import sys, mailgate.pipeline.isolated; print(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True)
    assert not {"sqlalchemy", "sqlmodel", "alembic", "mailgate.db"} & set(done.stdout.split())


def readers() -> dict[int, float]:
    """This process's reader children and the CPU seconds each has used, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == os.getpid() and isolated.__name__.encode() in cmdline:
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def test_a_message_that_kills_its_reader_three_times_is_set_aside(tmp_path: Path, db_url: str) -> None:
    """As the OOM killer would: each reader is SIGKILLed once it is deep in the message (past the
    CPU a reader spends starting). The message is read again by a fresh reader twice, then set
    aside with the reason; the next message is read as usual."""
    ctx = Context.build(config.load(slow_shop(tmp_path, seconds=60, db_url=db_url)))
    isolated.stop_all()  # only readers started for this message are about
    poison = put(ctx, "notices@shop.example", "a" * 80 + "b", 1)
    passes: list[int] = []
    worker = threading.Thread(target=lambda: passes.append(process_pending(ctx)))
    worker.start()
    killed: set[int] = set()
    while worker.is_alive():
        for pid, cpu in readers().items():
            if cpu > 1 and pid not in killed:  # a reader starts in some 0.4 s of CPU
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        worker.join(0.05)
    with Session(ctx.engine) as s:
        msg = s.get(Message, poison)
        assert msg is not None
        assert (msg.state, msg.strikes, msg.lost_leases) == ("failed", claim.MAX_STRIKES, 0)
        assert "the reader died reading it (killed by SIGKILL)" in msg.reason
        assert f"{claim.MAX_STRIKES} times" in msg.reason
    assert len(killed) == claim.MAX_STRIKES
    blank = put(ctx, "signup@shop.example", "", 2)
    assert process_pending(ctx) == 1
    with Session(ctx.engine) as s:
        assert (row := s.get(Message, blank)) is not None and row.state == "applied"


def costly_mail() -> bytes:
    """A notice of 3.8 MB in base64: about a tenth of a second of CPU to read."""
    body = base64.encodebytes(("予約のお知らせ " * 64 * 2000).encode()).decode()
    return (
        "From: c@example.jp\r\nTo: notices@shop.example\r\nSubject: x\r\nMessage-ID: <c@example.jp>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body
    ).encode()


def test_a_long_lived_reader_allows_each_mail_its_own_cpu_seconds(ctx: Context) -> None:
    """The limit is per message: a reader that has used many times `read_cpu_seconds` over a series
    of mails (each far under it) stops none of them."""
    reader, raw, setup = isolated.Reader(), costly_mail(), (ctx.rules, ctx.cfg, ctx.dns)
    try:
        pids, used = set(), 0.0
        for _ in range(300):  # a bound, should a mail ever cost nothing
            reader.read(setup, raw, "notices@shop.example", "c@example.jp", 1)
            pids.add(reader.process.pid)
            used = readers()[reader.process.pid]
            if used > 4:
                break
        assert used > 4 and len(pids) == 1
    finally:
        reader.stop()
