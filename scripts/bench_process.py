"""How fast the worker drains a burst of stored mail — half blank signups, half DKIM-signed STORES予約
notices with distinct reservation numbers — beside two baselines measured in the same run: parse +
rules alone (no database, no child process, one core) and a bare SQLite insert loop (one row and one
commit each, mailgate's pragmas). A benchmark, not a test: the machine is shared, so it reports the
ratios to those baselines as well as messages per second.

    .venv/bin/python scripts/bench_process.py                  # 2,000 messages
    .venv/bin/python scripts/bench_process.py --count 10000    # the issue's burst (#11: >= 500 msg/s)
    .venv/bin/python scripts/bench_process.py --profile /tmp/process.html   # pyinstrument, if installed
    .venv/bin/python scripts/bench_process.py --history 10000    # 2,000 more on a ledger of 10,000

Everything happens in a fresh temporary directory (SQLite, spool, outbox Maildir), loopback only.
The shop's config raises the limits on replies and new customers (a burst of 1,000 new customers an
hour is the point here); the notices' DKIM keys come from tests/corpus/keys/dns.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session, col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mailgate import config, leases
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.mail.dkim import sign
from mailgate.models import Message, Outbox
from mailgate.pipeline import claim, isolated
from mailgate.pipeline.worker import process_pending, work
from tests.conftest import CORPUS, RAISED_MAIL_LIMITS, write_config
from tests.e2e.cluster import SHOP  # two staff, open every day 10:00-20:00
from tests.notices import jp_when, key, stores_booked  # the notices the tests sign, as STORES does

TARGET = 500.0  # msg/s, issue #11
HOST = "127.0.0.1"
LIMITS = RAISED_MAIL_LIMITS  # a burst of new customers from one test client


def burst(count: int) -> list[tuple[bytes, str]]:
    """(raw, rcpt): blank signups and booking notices in turn; each notice its own seat, number and
    customer."""
    first = datetime(2027, 1, 4, 10, 0)
    coubic = key("coubic.com", "s1")  # loaded once: loading checks the key, which is slow
    mails: list[tuple[bytes, str]] = []
    for i in range(count):
        if i % 2 == 0:
            raw = (
                f"From: bench{i}@example.jp\r\nTo: signup@shop.example\r\nSubject: \r\n"
                f"Message-ID: <blank{i}@example.jp>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0900\r\n\r\n \r\n"
            ).encode()
            mails.append((raw, "signup@shop.example"))
        else:
            n = i // 2
            start = first + timedelta(days=n // 20, hours=(n // 2) % 10)
            raw = stores_booked(
                f"RB{n:08d}",
                jp_when(start),
                staff=("佐藤", "田中")[n % 2],
                # Each its own customer: with one name and phone for all, every notice would add
                # its address to one customer's memo, a longer row to rewrite each time.
                name=f"予約 {n:05d}",
                kana=f"ヨヤク {n:05d}",
                email=f"notice{n}@example.jp",
                phone=f"090-{1000 + n // 10000:04d}-{n % 10000:04d}",
                signer=None,
            )
            raw = sign(raw, coubic)
            mails.append((raw, "notices@shop.example"))
    return mails


def stored(ctx: Context, mails: list[tuple[bytes, str]]) -> list[int]:
    ids: list[int] = []
    for raw, rcpt in mails:
        ids += store(ctx.engine, ctx.cfg.spool_dir, raw, [rcpt], mail_from=None, via="smtp", client=HOST).ids
    return ids


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def parse_and_rules(ctx: Context, mails: list[tuple[bytes, str]]) -> float:
    """Baseline: what reading costs on one core, without the child, the spool or the database."""
    setup = (ctx.rules, ctx.cfg, ctx.dns)
    started = time.perf_counter()
    for raw, rcpt in mails:
        isolated._read(setup, raw, rcpt, None)
    return time.perf_counter() - started


def sqlite_inserts(directory: Path, count: int) -> float:
    """Baseline: a row of about a message's size, one transaction and fsync each."""
    conn = sqlite3.connect(directory / "bare.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, state TEXT, body TEXT)")
    body = "x" * 1500
    started = time.perf_counter()
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO m (state, body) VALUES (?, ?)", (f"s{i}", body))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def one_at_a_time(ctx: Context, ids: list[int]) -> int:
    """The worker as it was before the stream: claim one, read it in the one reader, record it in
    its own transaction; the same functions `mailgate ingest` still uses message by message."""
    owner = leases.owner_name("bench")
    done = 0
    for message_id in ids:
        if claim.take_one(ctx.engine, message_id, owner):
            done += work(ctx, message_id, owner) is not None
    return done


def count_statements(ctx: Context) -> list[int]:
    """How many statements the engine runs from now on (a list to be read after)."""
    counted = [0]

    def one(*_: object) -> None:
        counted[0] += 1

    event.listen(ctx.engine, "before_cursor_execute", one)
    return counted


def timed(fn: Callable[[], int], profile: Path | None) -> tuple[int, float]:
    if profile is None:
        started, cpu = time.perf_counter(), time.process_time()
        done = fn()
        elapsed = time.perf_counter() - started
        # This process's CPU (the recording; the readers are other processes): steadier than the
        # wall time on a shared machine.
        print(f"  worker process CPU {1000 * (time.process_time() - cpu) / max(done, 1):.2f} ms/msg")
        return done, elapsed
    from pyinstrument import Profiler  # a developer's tool, not a dependency

    with Profiler(async_mode="disabled") as profiler:
        started = time.perf_counter()
        done = fn()
        elapsed = time.perf_counter() - started
    profile.write_text(profiler.output_html(), encoding="utf-8")
    print(profiler.output_text(unicode=True, show_all=False), file=sys.stderr)
    return done, elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--profile", type=Path, help="write a pyinstrument profile of the drain (HTML) here")
    p.add_argument(
        "--before",
        type=int,
        default=0,
        metavar="N",
        help="first work N of the messages one at a time, as the worker did before the stream",
    )
    p.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="first store and process N more messages of the same kind, untimed: a shop with a ledger",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="mailgate-bench-process-"))
    authn = f'[authn]\ndns_overrides = "{CORPUS / "keys" / "dns.json"}"\n'
    ctx = Context.build(config.load(write_config(directory, authn, shop=SHOP, mail=LIMITS)))
    print(f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, in {directory}")

    everything = burst(args.history + args.count)
    isolated.start_readers(ctx)  # started ahead, as serve does: a child's start is not the drain's
    if args.history:
        stored(ctx, everything[: args.history])
        started = time.perf_counter()
        print(f"history: {process_pending(ctx)} processed in {time.perf_counter() - started:.1f} s")
    mails = everything[args.history :]
    started = time.perf_counter()
    ids = stored(ctx, mails)
    print(f"stored {len(mails)} messages in {time.perf_counter() - started:.1f} s")

    read = parse_and_rules(ctx, mails)
    before = args.before and timed(lambda: one_at_a_time(ctx, ids[: args.before]), None)
    statements = count_statements(ctx)
    done, drained = timed(lambda: process_pending(ctx), args.profile)
    print(f"  {statements[0] / max(done, 1):.1f} SQL statements per message (the readers' included)")
    inserts = sqlite_inserts(directory, len(mails))

    with Session(ctx.engine) as s:
        states = Counter(s.exec(select(Message.state)).all())
        outbox = s.exec(select(func.count(col(Outbox.id)))).one()
    process_rate = rate(done, drained)
    load = " ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"processed {done} in {drained:.1f} s; states {dict(states)}; {outbox} mails queued; load {load}")
    print(f"  mailgate process (worker)       {process_rate:8.0f} msg/s   target {TARGET:.0f}")
    if before:
        old = rate(*before)
        print(f"  one at a time, as before        {old:8.0f} msg/s   the worker is {process_rate / old:.2f}x")
    for name, seconds in (("parse + rules, one core", read), ("bare SQLite inserts", inserts)):
        baseline = rate(len(mails), seconds)
        print(f"  baseline {name:23}{baseline:8.0f} msg/s   ratio {process_rate / baseline:.2f}")
    isolated.stop_all()
    ctx.engine.dispose()
    if not args.keep:
        import shutil

        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
