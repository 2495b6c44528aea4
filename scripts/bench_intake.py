"""SMTP intake throughput: Postfix's smtp-source against, in one run on this machine, smtp-sink, a bare
aiosmtpd that answers 250 and stores nothing (the baseline), and `mailgate serve --no-worker` and
`mailgate serve` (every message on disk and in the database before its 250). A benchmark, not a test.

    .venv/bin/python scripts/bench_intake.py                      # 3 rounds of 3,000 messages each
    .venv/bin/python scripts/bench_intake.py --before b08d39a     # also an older commit (git archive)

Servers listen on 127.0.0.1 only and are stopped after each measurement; smtp-source runs
`-s 20 -m 3000 -l 2048` (20 sessions, a new connection per message, 2 kB bodies). The load comes
from one client address, so the bench's own mailgate.toml raises the per-client limits it would hit
([smtp] max_messages_per_client_minute, max_connections_per_client); everything else is the default
(SQLite, WAL, synchronous=FULL). Targets alternate within each round and the median of the rounds
is reported, because the machine's load wanders. Needs postfix (smtp-source, smtp-sink) installed.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[mail]
domains = ["shop.example"]
signup = "signup@shop.example"
notices = "notices@shop.example"

[shop]
name = "ベンチ整体院"

[links]
secrets = ["bench-intake-secret-0123456789abcdef"]

[paths]
var = "var"

[smtp]
listen = "127.0.0.1:{smtp}"
# Raised for the load: smtp-source sends everything from 127.0.0.1.
max_messages_per_client_minute = 1000000
max_connections_per_client = 100

[web]
listen = "127.0.0.1:{web}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port} after {seconds} s")


@contextmanager
def running(cmd: list[str], port: int, **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    try:
        wait_port(port, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bare_aiosmtpd(port: int) -> None:
    """The baseline: aiosmtpd on its own loop, 250 for every message, nothing stored."""
    import asyncio

    from aiosmtpd.smtp import SMTP

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 2.0.0 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Sink(), hostname="bench"), "127.0.0.1", port)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


def blast(port: int, messages: int, sessions: int, size: int) -> float:
    """Messages per second smtp-source sent (each acknowledged) to port."""
    started = time.perf_counter()
    subprocess.run(
        [
            *("smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size)),
            *("-f", "bench@example.jp", "-t", "signup@shop.example", f"127.0.0.1:{port}"),
        ],
        check=True,
        timeout=600,
    )
    return messages / (time.perf_counter() - started)


def stored(var: Path) -> int:
    with sqlite3.connect(var / "mailgate.db") as c:
        return int(c.execute("SELECT count(*) FROM message").fetchone()[0])


def mailgate(
    code: Path | None, worker: bool, messages: int
) -> Callable[[Path, int, Callable[[int], float]], float]:
    """A target running `mailgate serve` from this checkout, or from the code at `code`."""

    def run(work: Path, port: int, send: Callable[[int], float]) -> float:
        (work / "mailgate.toml").write_text(CONFIG.format(smtp=port, web=free_port()), encoding="utf-8")
        env = {**os.environ, **({"PYTHONPATH": str(code)} if code else {})}
        base = [sys.executable, "-m", "mailgate", "-c", str(work / "mailgate.toml")]
        subprocess.run([*base, "db", "upgrade"], env=env, cwd=code or ROOT, check=True, capture_output=True)
        with running([*base, "serve", *([] if worker else ["--no-worker"])], port, env=env, cwd=code or ROOT):
            rate = send(port)
        if stored(work / "var") != messages:  # each acknowledged message is stored, once
            raise SystemExit(f"{work}: {stored(work / 'var')} messages stored of {messages} acknowledged")
        return rate

    return run


def sink(work: Path, port: int, send: Callable[[int], float]) -> float:
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    with running(["smtp-sink", *user, f"127.0.0.1:{port}", "256"], port):
        return send(port)


def bare(work: Path, port: int, send: Callable[[int], float]) -> float:
    with running([sys.executable, __file__, "--bare-aiosmtpd", str(port)], port):
        return send(port)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="also measure mailgate at this git revision (a second checkout)")
    parser.add_argument("--no-worker-only", action="store_true", help="skip `mailgate serve` with its worker")
    parser.add_argument("--bare-aiosmtpd", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_aiosmtpd:
        bare_aiosmtpd(args.bare_aiosmtpd)
        return
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        targets: dict[str, Callable[[Path, int, Callable[[int], float]], float]] = {
            "smtp-sink": sink,
            "bare aiosmtpd (baseline)": bare,
            "mailgate serve --no-worker": mailgate(None, worker=False, messages=args.messages),
        }
        if not args.no_worker_only:
            targets["mailgate serve"] = mailgate(None, worker=True, messages=args.messages)
        if args.before:
            code = Path(tmp) / "before"
            code.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.before], check=True, capture_output=True
            )
            subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
            targets[f"mailgate serve --no-worker at {args.before}"] = mailgate(
                code, worker=False, messages=args.messages
            )
            if not args.no_worker_only:
                targets[f"mailgate serve at {args.before}"] = mailgate(
                    code, worker=True, messages=args.messages
                )
        rates: dict[str, list[float]] = {name: [] for name in targets}
        for r in range(args.rounds):
            for t, (name, target) in enumerate(targets.items()):
                work = Path(tmp) / f"round{r}-target{t}"
                work.mkdir()
                rate = target(
                    work, free_port(), lambda port: blast(port, args.messages, args.sessions, args.size)
                )
                rates[name].append(rate)
                print(f"round {r + 1}: {name}: {rate:.0f} msg/s", file=sys.stderr, flush=True)
    base = statistics.median(rates["bare aiosmtpd (baseline)"])
    load = os.getloadavg()
    print(
        f"\nsmtp-source -s {args.sessions} -m {args.messages} -l {args.size}, median of {args.rounds} rounds"
    )
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} CPUs\n")
    print(f"| {'target':<48} | msg/s | × bare aiosmtpd | rounds |")
    print(f"| {'-' * 48} | ----: | --------------: | ------ |")
    for name, values in rates.items():
        median = statistics.median(values)
        each = " ".join(f"{v:.0f}" for v in values)
        print(f"| {name:<48} | {median:5.0f} | {median / base:15.2f} | {each} |")


if __name__ == "__main__":
    main()
