"""What the proof scripts (crash_run.py, fuzz_smtp.py, abuse.py) share: a shop directory with a config
made for load, a `mailgate serve` they start, kill and start again on the same loopback ports, and
the SMTP client side. Loopback only; nothing here is part of mailgate.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from mailgate import config, db
from mailgate.models import Message, MessageState, Outbox, OutboxState

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "corpus"
T = TypeVar("T")

SIGNUP, NOTICES = "signup@shop.example", "notices@shop.example"
# Every client here is 127.0.0.1: a load run lifts the per-client limits it would otherwise hit, and
# says so (README "Proof under load").
LOAD_LIMITS = """
[smtp]
max_messages_per_client_minute = 1000000
max_connections_per_client = 100
"""
LOAD_MAIL = """replies_per_client_hour = 1000000
replies_total_hour = 1000000
new_customers_per_client_hour = 1000000
new_customers_total_hour = 1000000
"""
STAFF = ("佐藤", "田中")
SHOP = "".join(f'\n[[shop.staff]]\nname = "{name}"' for name in STAFF) + "\n[shop.hours]\n"
SHOP += "".join(f'{day} = "10:00-20:00"\n' for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


@dataclass
class Report:
    """A run's figures (for the README) and the problems its checks found (none: exit code 0)."""

    figures: dict[str, object]
    problems: list[str]
    items: list[Any] = field(default_factory=list)  # what was sent, for a second look

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [f"  {k:<48} {v}" for k, v in self.figures.items()]
        return "\n".join(lines + ([f"  PROBLEM: {p}" for p in self.problems] or ["  all checks hold"]))


def finish(title: str, directory: Path, report: Report, keep: bool) -> int:
    """Prints the report; removes the run's directory when all held (unless `keep`); the exit code."""
    print(f"{title}, in {directory}:\n{report.text()}")
    if report.ok and not keep:
        shutil.rmtree(directory, ignore_errors=True)
    return 0 if report.ok else 1


def arguments(doc: str, seconds: float) -> argparse.ArgumentParser:
    """The options every proof script takes (--seconds, --dir); the script adds its own. SIGTERM ends
    the script as an exception would, so that the serve it started is stopped too."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=seconds, help="the run's bound in time")
    parser.add_argument("--dir", type=Path, help="where the shop lives (default: a temporary directory)")
    return parser


def directory(args: argparse.Namespace, prefix: str) -> Path:
    return args.dir or Path(tempfile.mkdtemp(prefix=prefix))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_shop(directory: Path, *, db_url: str = "", smtp: str = LOAD_LIMITS, mail: str = "") -> Path:
    """A shop's mailgate.toml in `directory` (its database var/mailgate.db unless db_url): notices
    checked against the corpus test keys, the per-client limits lifted (`smtp` replaces them)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mailgate.toml"
    path.write_text(
        f"""
[mail]
domains = ["shop.example"]
signup = "{SIGNUP}"
notices = "{NOTICES}"
{LOAD_MAIL}{mail}
[shop]
name = "テスト整体院"
{SHOP}
[authn]
dns_overrides = "{CORPUS / "keys" / "dns.json"}"
trusted_forwarders = ["uketsuke@salon-mail.example"]

[links]
secrets = ["proof-secret-{"x" * 30}"]

[paths]
var = "var"
{f'[db]{chr(10)}url = "{db_url}"{chr(10)}' if db_url else ""}{smtp}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Serve:
    """`mailgate serve` on fixed loopback ports, its stdout and stderr appended to var/serve.log."""

    config: Path
    smtp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    starting_seconds: float = 0.0  # from exec to "ready", all starts

    @property
    def log_path(self) -> Path:
        return self.config.parent / "var" / "serve.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> None:
        """Started, and said "ready" (then SMTP listens)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mailgate",
                    "--config",
                    str(self.config),
                    "serve",
                    "--smtp",
                    f"127.0.0.1:{self.smtp_port}",
                    "--http",
                    f"127.0.0.1:{self.http_port}",
                    *self.args,
                ],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.starts += 1
        began = time.monotonic()
        deadline = began + timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if b"\nready\n" in b"\n" + log.read():
                    self.starting_seconds += time.monotonic() - began
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"mailgate serve exited ({self.proc.returncode}): see {self.log_path}")
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"mailgate serve did not say ready in {timeout} s")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM; the exit code (killed when it does not stop within 30 s)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return -signal.SIGKILL

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def engine_of(config_path: Path) -> Engine:
    return db.make_engine(config.load(config_path).db_url)


def settled(engine: Engine, deferred_done: bool = False) -> tuple[bool, str]:
    """Every stored message in a final state and no reply waiting to go: (done, what is left).
    deferred_done: a change or cancel waiting for a booking that never comes counts as done (it is
    held for an operator after [notices] defer_hours)."""
    done = (*MessageState.FINAL, MessageState.DEFERRED) if deferred_done else MessageState.FINAL
    with Session(engine) as s:
        open_messages = s.scalar(
            select(func.count()).select_from(Message).where(col(Message.state).not_in(done))
        )
        open_mail = s.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(col(Outbox.state).in_([OutboxState.QUEUED, OutboxState.SENDING]))
        )
    return (
        open_messages == 0 and open_mail == 0,
        f"{open_messages} messages open, {open_mail} replies queued",
    )


def wait_until(predicate: Callable[[], tuple[bool, str]], seconds: float) -> str:
    """Polls until the predicate says done; what it said last (raises TimeoutError past `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        done, said = predicate()
        if done:
            return said
        if time.monotonic() > deadline:
            raise TimeoutError(said)
        time.sleep(0.2)


def smtp_send(port: int, sender: str, rcpt: str, raw: bytes, timeout: float = 30) -> None:
    """One message in one connection; raises unless the server said 250 to the data."""
    with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as s:
        s.sendmail(sender, [rcpt], raw)


def vm_kib(pid: int, key: str) -> int:
    """A /proc/PID/status figure in KiB (VmHWM: peak resident set; VmRSS: now); 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
