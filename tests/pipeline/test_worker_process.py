"""serve's worker runs in a process of its own (its readers below it), is started again when it
dies, and ends with serve."""

from __future__ import annotations

import os
import signal
import smtplib
from pathlib import Path

import pytest

from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.helpers import children_of, cli, worker_pid

pytestmark = pytest.mark.e2e


def _blank(served: Served, n: int) -> None:
    raw = f"From: w{n}@example.jp\r\nTo: signup@shop.example\r\nMessage-ID: <wp{n}@example.jp>\r\n\r\n"
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
        s.sendmail(f"w{n}@example.jp", ["signup@shop.example"], raw.encode())


def _applied(cfg: Path, count: int) -> bool:
    messages = cli(cfg, "messages", "--limit", "50")
    return len(messages) == count and all(m["state"] == "applied" for m in messages)


def test_the_worker_runs_below_serve_comes_back_when_killed_and_ends_with_serve(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    served = start_serve(cfg)
    try:
        _blank(served, 1)
        wait_for(lambda: _applied(cfg, 1), timeout=60)
        first = worker_pid(served.proc.pid)
        readers = [p for p, cmd in children_of(first).items() if b"mailgate.pipeline.isolated" in cmd]
        assert readers, "the worker reads mail in reader processes of its own"
        assert not [p for p, cmd in children_of(served.proc.pid).items() if b"pipeline.isolated" in cmd]

        os.kill(first, signal.SIGKILL)
        _blank(served, 2)  # stored by serve while no worker runs
        wait_for(lambda: _applied(cfg, 2), timeout=90)
        second = worker_pid(served.proc.pid)
        assert second != first
        readers = [p for p, cmd in children_of(second).items() if b"mailgate.pipeline.isolated" in cmd]
        assert readers
    finally:
        code = served.stop()
        _, log = served.proc.communicate(timeout=30)
    assert code == 0, log[-3000:]
    assert "the worker process stopped (exit status -9); starting another" in log
    assert "Traceback" not in log
    # Stopped with serve: the worker and its readers were waited for, not left behind.
    assert not Path(f"/proc/{second}").exists()
    wait_for(lambda: not [p for p in readers if Path(f"/proc/{p}").exists()], timeout=10)
