"""Latency from a message's 250 to what it produces, at a steady offered rate: one `mailgate serve`
(SQLite, loopback) and several SMTP clients, each on its own connection, sending a mix of blank
signups and DKIM-signed STORES予約 notices on an open-loop schedule. A benchmark, not a test.

    .venv/bin/python scripts/bench_latency.py                          # 200 msg/s for 30 s, 6 clients
    .venv/bin/python scripts/bench_latency.py --rate 100 --seconds 10

For each message: when its 250 reached the client, and when its outcome was committed: the first
outbox row it caused (a signup's registration mail, a staff alert), or, for a notice that queues no
mail, the message in its final state. A watcher polls the database every --watch-ms (a reader in
WAL mode) and takes the time it first sees the row: at most that much after the commit. The rows'
own timestamps (Outbox.created_at, Message.processed_at) are stamped inside the transaction,
before its commit, and are reported beside it as a lower bound.

The schedule is open-loop: message k is due at start + k / rate whatever the server does, and a
late client records when it was due as well as when it sent, so a slow server does not lower the
offered rate unnoticed. In the same run, as baselines: the same clients and schedule against a
bare aiosmtpd that answers 250 and stores nothing (the 250's own latency, client side), and blank
signups alone at --alone-rate (50/s) over one connection.

The load comes from 127.0.0.1 only: the run's own mailgate.toml raises the per-client limits it
would hit ([smtp] max_messages_per_client_minute, max_connections_per_client,
max_messages_per_connection; [mail] reply and new-customer caps) and says so. Everything is in a
fresh temporary directory; each server is stopped after its part; the run is bounded by
--seconds plus --drain-seconds per part.
"""

from __future__ import annotations

import argparse
import os
import re
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_intake import free_port, wait_port
from bench_process import LIMITS, burst
from proving_ground import Serve

from tests.conftest import CORPUS, write_config
from tests.e2e.cluster import SHOP

HERE = Path(__file__).resolve().parent
FINAL = ("applied", "held", "ignored", "failed", "deferred")
# Raised for the load: every client is 127.0.0.1, and each keeps one connection for its share.
SMTP_LIMITS = """
[smtp]
max_messages_per_client_minute = 1000000
max_connections_per_client = 100
max_messages_per_connection = 1000000
"""
QUEUED = re.compile(rb"queued as (\d+)")


@dataclass
class Sent:
    kind: str  # signup | notice
    due: float  # when the schedule said to send it (time.time())
    began: float = 0.0  # when the client began MAIL FROM
    acked: float = 0.0  # when its 250 to DATA arrived
    message_id: int | None = None  # mailgate's id, from "queued as"
    error: str = ""


@dataclass
class Outcome:
    seen: float  # when the watcher first saw it committed
    stamped: float  # the row's own timestamp (before the commit)


def _epoch(value: str | None) -> float:
    if not value:
        return 0.0
    return datetime.fromisoformat(value.replace(" ", "T")).timestamp()


class Watcher:
    """Polls the database for each message's outcome: its first outbox row, else its final state."""

    def __init__(self, path: Path, every: float) -> None:
        self.path, self.every = path, every
        self.outbox: dict[int, Outcome] = {}
        self.final: dict[int, Outcome] = {}
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        outbox_after = 0
        pending_from = 0  # every message below this one was seen final
        try:
            while not self._stop.wait(self.every):
                now = time.time()
                rows = conn.execute(
                    "SELECT id, cause_message_id, created_at FROM outbox WHERE id > ? ORDER BY id",
                    (outbox_after,),
                ).fetchall()
                for row_id, cause, created in rows:
                    outbox_after = row_id
                    if cause is not None and cause not in self.outbox:
                        self.outbox[cause] = Outcome(now, _epoch(created))
                marks = ",".join("?" * len(FINAL))
                done = conn.execute(
                    f"SELECT id, processed_at FROM message WHERE id >= ? AND state IN ({marks})",
                    (pending_from, *FINAL),
                ).fetchall()
                for message_id, processed in done:
                    self.final.setdefault(message_id, Outcome(now, _epoch(processed)))
                while pending_from in self.final or pending_from == 0:
                    pending_from += 1
                self.polls += 1
        finally:
            conn.close()

    def outcome(self, message_id: int) -> Outcome | None:
        return self.outbox.get(message_id) or self.final.get(message_id)


def send_all(
    port: int, mails: Sequence[tuple[bytes, str]], rate: float, clients: int, kinds: Sequence[str]
) -> list[Sent]:
    """Message k is due at start + k / rate, sent by client k mod clients."""
    start = time.time() + 0.5
    sent = [Sent(kinds[k], start + k / rate) for k in range(len(mails))]
    shares = [list(range(c, len(mails), clients)) for c in range(clients)]

    def client(share: list[int]) -> None:
        conn: smtplib.SMTP | None = None
        for k in share:
            item = sent[k]
            pause = item.due - time.time()
            if pause > 0:
                time.sleep(pause)
            raw, rcpt = mails[k]
            try:
                if conn is None:
                    conn = smtplib.SMTP("127.0.0.1", port, timeout=60)
                    conn.ehlo("bench.example")
                item.began = time.time()
                conn.mail("bench@example.jp")
                conn.rcpt(rcpt)
                code, reply = conn.data(raw)
                item.acked = time.time()
                if code != 250:
                    item.error = f"{code} {reply!r}"
                found = QUEUED.search(reply)
                item.message_id = int(found.group(1)) if found else None
            except (smtplib.SMTPException, OSError) as e:
                item.error = f"{type(e).__name__}: {e}"
                conn = None
        if conn is not None:
            conn.quit()

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in ms; a missing outcome counts as infinitely late."""
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000, "n": len(values)}


def line(name: str, stats: dict[str, float]) -> str:
    if not stats:
        return f"  {name:<46} (none)"
    cells = " ".join(f"{k} {stats[k]:8.1f}" for k in ("p50", "p95", "p99", "max"))
    return f"  {name:<46} {cells}   n {int(stats['n'])}"


@dataclass
class Part:
    name: str
    sent: list[Sent]
    seconds: float  # from the first due time to the last 250
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    serve_cpu: float = 0.0
    polls: int = 0

    warmup: float = 0.0  # messages due in the first seconds are sent but not counted

    @property
    def acked(self) -> list[Sent]:
        first = min((s.due for s in self.sent), default=0.0)
        return [s for s in self.sent if not s.error and s.acked and s.due >= first + self.warmup]

    def report(self, outcome: bool) -> list[str]:
        acked = self.acked
        all_acked = sum(1 for s in self.sent if not s.error and s.acked)
        out = [
            f"{self.name}: {all_acked}/{len(self.sent)} acknowledged in {self.seconds:.1f} s"
            f" ({all_acked / self.seconds:.0f} msg/s achieved); counted: the {len(acked)} due after"
            f" the first {self.warmup:g} s"
            + (
                f", serve CPU {self.serve_cpu * 1000 / max(1, len(acked)):.1f} ms/msg"
                if self.serve_cpu
                else ""
            ),
            line("250, from when it was due (client side)", percentiles([s.acked - s.due for s in acked])),
            line("250, from MAIL FROM (client side)", percentiles([s.acked - s.began for s in acked])),
        ]
        errors = [s.error for s in self.sent if s.error]  # warm-up or not
        if errors:
            out.append(f"  errors: {len(errors)}, first: {errors[0]}")
        if not outcome:
            return out
        for kind in ("all", "signup", "notice"):
            mine = [s for s in acked if kind in ("all", s.kind) and s.message_id is not None]
            if not mine:
                continue
            late = [self._after(s, seen=True) for s in mine]
            stamped = [self._after(s, seen=False) for s in mine]
            missing = sum(v == float("inf") for v in late)
            out.append(line(f"{kind}: 250 -> outcome committed (seen)", percentiles(late)))
            out.append(line(f"{kind}: 250 -> outcome stamped (in the tx)", percentiles(stamped)))
            if missing:
                out.append(f"  {kind}: {missing} without an outcome by the end (counted as infinitely late)")
        return out

    def timeline(self) -> list[str]:
        """Per second of the schedule: messages due, the worst 250 and the worst 250 -> outcome."""
        if not self.sent:
            return []
        first = min(s.due for s in self.sent)
        seconds: dict[int, list[Sent]] = {}
        lines = []
        for s in self.sent:
            if s.acked and not s.error:
                seconds.setdefault(int(s.due - first), []).append(s)
        for n, group in sorted(seconds.items()):
            ack = max(x.acked - x.due for x in group) * 1000
            out = max(self._after(x, seen=True) for x in group) * 1000
            worst = f"worst 250 {ack:6.0f} ms, outcome {out:6.0f} ms"
            lines.append(f"  second {n:3d}: {len(group):4d} due, {worst}")
        return lines

    def _after(self, s: Sent, *, seen: bool) -> float:
        got = self.outcomes.get(s.message_id or 0)
        if got is None:
            return float("inf")
        return (got.seen if seen else got.stamped) - s.acked


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were waited for (the readers are not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def readers_cpu(pid: int) -> float:
    total = 0.0
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        total += cpu_seconds(int(child))
    return total


def mailgate_part(
    name: str,
    directory: Path,
    mails: Sequence[tuple[bytes, str]],
    kinds: Sequence[str],
    rate: float,
    clients: int,
    args: argparse.Namespace,
    code: Path | None = None,
) -> Part:
    authn = f'[authn]\ndns_overrides = "{CORPUS / "keys" / "dns.json"}"\n'
    # An older mailgate makes its own database: this one's template may hold migrations it refuses.
    config = write_config(directory, authn + SMTP_LIMITS, shop=SHOP, mail=LIMITS, database=code is None)
    env = {"PYTHONASYNCIODEBUG": "1"} if args.asyncio_debug else {}
    if code is not None:  # the older checkout first on the path (the readers follow serve's mailgate)
        env["PYTHONPATH"] = str(code)
    serve = Serve(config, args=tuple(args.serve_arg))
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    serve.start()
    try:
        with Watcher(directory / "var" / "mailgate.db", args.watch_ms / 1000) as watcher:
            cpu0 = cpu_seconds(serve.pid) + readers_cpu(serve.pid)
            sent = send_all(serve.smtp_port, mails, rate, clients, kinds)
            expected = {s.message_id for s in sent if s.message_id is not None}
            deadline = time.monotonic() + args.drain_seconds
            while time.monotonic() < deadline and any(watcher.outcome(m) is None for m in expected):
                time.sleep(0.1)
            cpu = cpu_seconds(serve.pid) + readers_cpu(serve.pid) - cpu0
        part = Part(name, sent, _span(sent), serve_cpu=cpu, polls=watcher.polls)
        part.outcomes = {m: o for m in expected if (o := watcher.outcome(m)) is not None}
    finally:
        serve.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if args.asyncio_debug:
        slow = [ln for ln in serve.log_text().splitlines() if "Executing" in ln and "took" in ln]
        part.name += f" (asyncio debug: {len(slow)} slow callbacks logged)"
        for ln in slow[:20]:
            print("   ", ln)
    return part


def bare_part(
    name: str, mails: Sequence[tuple[bytes, str]], kinds: Sequence[str], rate: float, clients: int
) -> Part:
    port = free_port()
    with _running([sys.executable, str(HERE / "bench_intake.py"), "--bare-aiosmtpd", str(port)], port):
        sent = send_all(port, mails, rate, clients, kinds)
    return Part(name, sent, _span(sent))


@contextmanager
def _running(cmd: list[str], port: int) -> Iterator[None]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _span(sent: list[Sent]) -> float:
    acked = [s.acked for s in sent if s.acked]
    return (max(acked) - min(s.due for s in sent)) if acked else float("nan")


def checkout(rev: str, directory: Path) -> Path:
    """The code at `rev`, from git archive (bench_intake.py does the same)."""
    directory.mkdir()
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=200.0, help="messages per second offered, all clients")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=6, help="SMTP clients, each its own connection")
    p.add_argument("--alone-rate", type=float, default=50.0, help="blank signups alone, one connection")
    p.add_argument("--drain-seconds", type=float, default=120.0, help="after sending, wait this long at most")
    p.add_argument("--watch-ms", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=5.0, help="not counted: the first seconds of each part")
    p.add_argument("--no-baselines", action="store_true", help="only the mixed load")
    p.add_argument(
        "--asyncio-debug", action="store_true", help="serve with PYTHONASYNCIODEBUG=1; list slow callbacks"
    )
    p.add_argument("--serve-arg", action="append", default=[], help="passed to mailgate serve")
    p.add_argument("--timeline", action="store_true", help="the worst latencies of each second")
    p.add_argument("--before", metavar="REV", help="also the mixed load on mailgate at this git revision")
    args = p.parse_args()

    count = int(args.rate * args.seconds)
    mails = burst(count)
    kinds = ["signup" if i % 2 == 0 else "notice" for i in range(count)]
    alone_count = int(args.alone_rate * args.seconds)
    load = [os.getloadavg()[0]]
    print(
        f"{os.cpu_count()} cores; {count} mixed messages at {args.rate:g}/s from {args.clients} clients;"
        f" load average {load[0]:.1f}"
    )
    parts: list[tuple[Part, bool]] = []  # (part, whether it has outcomes to report)

    def measured(part: Part, outcome: bool = True) -> None:
        parts.append((part, outcome))
        load.append(os.getloadavg()[0])

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        os.chdir(tmp)  # `python -m mailgate` takes its working directory first: not this checkout
        mixed = (mails, kinds, args.rate, args.clients)
        if not args.no_baselines:
            measured(bare_part("bare aiosmtpd, same clients and schedule (baseline)", *mixed), False)
        name = f"mixed mail at {args.rate:g}/s"
        measured(mailgate_part(f"mailgate serve, {name}", Path(tmp) / "mixed", *mixed, args))
        if args.before:
            code = checkout(args.before, Path(tmp) / "before")
            part = mailgate_part(
                f"mailgate serve at {args.before}, {name}", Path(tmp) / "old", *mixed, args, code
            )
            measured(part)
        if not args.no_baselines:
            alone = (burst(alone_count * 2)[::2], ["signup"] * alone_count, args.alone_rate, 1)
            name = f"mailgate serve, blank signups alone at {args.alone_rate:g}/s, one connection"
            measured(mailgate_part(name, Path(tmp) / "alone", *alone, args))
    for part, outcome in parts:
        part.warmup = args.warmup
        print("\n".join(part.report(outcome)))
        if args.timeline:
            print("\n".join(part.timeline()))
    print("load average (1 min) at the start and after each part: " + " ".join(f"{x:.1f}" for x in load))


if __name__ == "__main__":
    main()
