"""Reading a message happens in a child process with a CPU limit: a message that would take forever
is failed with the reason and the next one is read by a fresh child, in this process's worker and
without holding its GIL."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session

from mailgate import config
from mailgate.config import shipped_dir
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Message
from mailgate.pipeline import isolated
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


def slow_shop(directory: Path, seconds: int = 1) -> Path:
    rules = directory / "rules"
    shutil.copytree(shipped_dir("rules"), rules, ignore=shutil.ignore_patterns("__*"))
    (rules / "slow.toml").write_text(SLOW_RULE, encoding="utf-8")
    path = write_config(directory, 'rules = "rules"\n')
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
