"""Several nodes on one PostgreSQL: throughput and CPU with 1, 2 and 3 `mailgate serve` nodes, as ratios
to one node; what idle nodes ask of the database; and raw bytes in PostgreSQL against raw bytes in a
spool directory (intake rate, size on disk).

    .venv/bin/python scripts/bench_nodes.py                          # 1,500 messages per run
    .venv/bin/python scripts/bench_nodes.py --count 300 --idle 10 --raw-count 300

It starts its own PostgreSQL (initdb in a temporary directory, 127.0.0.1 only, fsync on as a real
server has it, pg_stat_statements loaded to count statements; stopped at the end). For each number
of nodes a fresh database (a copy of one migrated template) and that many `mailgate serve` on their
own loopback ports, each in its own directory with the same mailgate.toml (the same [links] secrets,
[db] url and corpus DKIM keys: scripts/proving_ground.py `write_shop`, which lifts the per-client
limits, since all the load comes from 127.0.0.1). The same stream each time: blank signups and
DKIM-signed STORES notices with distinct reservation numbers and customers, in turn,
message i to node i mod N, from six SMTP clients in all. Measured: intake (every 250), processing
(every message in a final state, every reply written to the node's outbox Maildir), CPU seconds of
each node (serve and its reader children, from /proc) and of PostgreSQL per message. Then checked:
every message stored once and final, no booking twice, one reply per signup, delivered once.
With the nodes of the largest run left idle, the statements and transactions per second they cost
PostgreSQL (pg_stat_statements, pg_stat_database) and their CPU.

The raw-bytes comparison stores the same messages through `store_many` in batches as group commit
makes them (one writer, `--batch` messages per transaction), into a fresh database each time, once
with the bytes in the `rawmessage` table and once as fsynced files in a spool directory; rounds
alternate the two. Exit code 0 when every check held.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from random import Random

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import crash_run  # the stream's senders and the end checks
import proving_ground as pg  # a shop's config, a serve on loopback ports

from mailgate import db, schema
from mailgate.files import private_dir, write_durably
from mailgate.inbound import spool
from mailgate.inbound.store import Arrival, store_many
from mailgate.models import Message, MessageState, Outbox, OutboxState
from tests.postgres import Postgres, running_postgres

SENDERS = 6  # SMTP clients in all, spread over the nodes (6: the same share each for 1, 2 or 3)
TICK = os.sysconf("SC_CLK_TCK")
TEMPLATE = "nodes_template"


def items_of(count: int, first: int = 0) -> list[crash_run.Item]:
    """Blank signups (each from its own address) and DKIM-signed STORES booking notices (each its own
    number, customer and slot) in turn, as the crash run's items, for its senders and checks."""
    items = []
    for n in range(first, first + count):
        if n % 2 == 0:
            addr, msgid = f"guest{n}@example.jp", f"nodes-signup-{n}@example.jp"
            raw = f"From: {addr}\r\nTo: {pg.SIGNUP}\r\nSubject: \r\nMessage-ID: <{msgid}>\r\n\r\n".encode()
            items.append(crash_run.Item(n, "signup", addr, pg.SIGNUP, raw, msgid))
            continue
        k = n // 2
        raw = crash_run.booked_notice(k, f"8{k:07d}", email=f"customer{k}@example.jp", phones=2000)
        raw = crash_run.stores_signed(raw)
        msgid = str(BytesHeaderParser(policy=compat32).parsebytes(raw)["Message-ID"]).strip("<>")
        items.append(crash_run.Item(n, "booked", "noreply@coubic.com", pg.NOTICES, raw, msgid, f"8{k:07d}"))
    return items


# --- CPU from /proc: a process and its descendants, the dead ones through their parents' c-times -------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, clock ticks of it and its reaped children), None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return int(fields[1]), sum(int(f) for f in fields[11:15])  # ppid; utime stime cutime cstime


def tree_cpu(pid: int) -> float:
    """CPU seconds so far of pid and every process below it."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)], ticks[int(entry.name)] = st
    below = {pid}
    grew = True
    while grew:
        more = {p for p, parent in parents.items() if parent in below} - below
        below |= more
        grew = bool(more)
    return sum(ticks.get(p, 0) for p in below) / TICK


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- Databases --------------------------------------------------------------------------------------


def make_template(server: Postgres, statements: bool = True) -> None:
    """The migrated database each run copies; statements: pg_stat_statements (server started with it)."""
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if statements:
            c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        c.execute(sa.text(f'CREATE DATABASE "{TEMPLATE}"'))
    admin.dispose()
    engine = db.make_engine(server.database_url(TEMPLATE))
    schema.upgrade(engine)
    engine.dispose()  # a template must have no connections


def fresh_database(server: Postgres, name: str) -> str:
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    admin.dispose()
    return server.database_url(name)


def database_counters(server: Postgres, name: str) -> tuple[Counter[str], int]:
    """(calls of each statement, transactions) in database `name` so far (pg_stat_statements,
    pg_stat_database)."""
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        oid = c.execute(sa.text("SELECT oid FROM pg_database WHERE datname = :n"), {"n": name}).scalar_one()
        calls = c.execute(
            sa.text("SELECT query, calls FROM pg_stat_statements WHERE dbid = :oid"), {"oid": oid}
        ).all()
        xacts = c.execute(
            sa.text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datid = :oid"),
            {"oid": oid},
        ).scalar_one()
    admin.dispose()
    counts: Counter[str] = Counter()
    for query, n in calls:
        counts[" ".join(query.split())[:90]] += int(n)
    return counts, int(xacts)


# --- One run: N nodes, the stream, the end state ------------------------------------------------------


@dataclass
class Run:
    nodes: int
    intake: float = 0.0  # seconds to the last 250
    final: float = 0.0  # seconds until every message was in a final state
    replied: float = 0.0  # ... and every reply written
    node_cpu: list[float] = field(default_factory=list)  # CPU seconds of each node, stream to end
    postgres_cpu: float = 0.0
    client_cpu: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end
    problems: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)
    idle: dict[str, float] = field(default_factory=dict)


def progress(engine: sa.Engine) -> tuple[int, int]:
    """(messages in a final state, replies not yet written)."""
    with Session(engine) as s:
        final = s.exec(
            select(func.count(col(Message.id))).where(col(Message.state).in_(MessageState.FINAL))
        ).one()
        open_mail = s.exec(
            select(func.count(col(Outbox.id))).where(
                col(Outbox.state).in_([OutboxState.QUEUED, OutboxState.SENDING])
            )
        ).one()
    return final, open_mail


def sample(engine: sa.Engine, name: str, waits: Counter[str]) -> None:
    """Counts the nodes' database sessions in work now (in a transaction), by what they wait for."""
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT coalesce(wait_event_type, 'CPU') FROM pg_stat_activity WHERE datname = :n "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            ),
            {"n": name},
        ).scalars()
        waits.update(rows)
    waits["samples"] += 1


def wait(predicate: Callable[[], bool], deadline: float) -> bool:
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def run_nodes(
    server: Postgres, directory: Path, n: int, items: list[crash_run.Item], seconds: float, idle: float
) -> Run:
    """n nodes on a fresh database take the stream; measured, checked, then (idle > 0) watched idle."""
    run = Run(n)
    name = f"nodes_{n}"
    url = fresh_database(server, name)
    nodes = [pg.Serve(pg.write_shop(directory / f"{n}-nodes" / f"node{i}", db_url=url)) for i in range(n)]
    engine = db.make_engine(url)
    deadline = time.monotonic() + seconds
    # Each node's readers started and its caches filled before the measured stream.
    warm = items_of(4 * n, first=len(items))
    try:
        for node in nodes:
            node.start()
        for j, item in enumerate(warm):
            pg.smtp_send(nodes[j // 2 % n].smtp_port, item.sender, item.rcpt, item.raw)
            item.acks = 1
        if not wait(lambda: progress(engine) == (len(warm), 0), deadline):
            run.problems.append("the warm-up mail was not dealt with")
        streams = [crash_run.Stream(node.smtp_port, Random(0), redeliver=0.0) for node in nodes]
        for i, item in enumerate(items):
            streams[i % n].queue.append(item)
        senders = [threading.Thread(target=streams[j % n].run_sender, daemon=True) for j in range(SENDERS)]
        run.load = (os.getloadavg()[0], 0.0)
        cpu = [tree_cpu(node.pid) for node in nodes]
        postgres, client = tree_cpu(server.pid), own_cpu()
        started = time.monotonic()
        for t in senders:
            t.start()
        count = len(items) + len(warm)
        done: dict[str, float] = {}
        waits: Counter[str] = Counter()

        def settled() -> bool:
            sample(engine, name, waits)
            if "intake" not in done and all(s.finished for s in streams):
                done["intake"] = time.monotonic() - started
            final, open_mail = progress(engine)
            if "final" not in done and final == count:
                done["final"] = time.monotonic() - started
            return len(done) == 2 and open_mail == 0

        if wait(settled, deadline):
            run.replied = time.monotonic() - started
        else:
            run.problems.append(
                f"not settled within {seconds:.0f} s: {progress(engine)} (final, replies open)"
            )
        run.intake, run.final = done.get("intake", 0.0), done.get("final", 0.0)
        run.node_cpu = [tree_cpu(node.pid) - before for node, before in zip(nodes, cpu, strict=True)]
        run.postgres_cpu, run.client_cpu = tree_cpu(server.pid) - postgres, own_cpu() - client
        run.load = (run.load[0], os.getloadavg()[0])
        in_work = waits.total() - waits["samples"]
        run.figures["nodes' sessions in a transaction (mean of samples)"] = round(
            in_work / waits["samples"], 2
        )
        run.figures["of which waiting for a lock (advisory: a shop day, an address)"] = (
            f"{100 * waits['Lock'] / max(1, in_work):.0f} %"
        )
        for s in streams:
            s.stop.set()
        for t in senders:
            t.join(timeout=30)
        if sum(s.acks for s in streams) != len(items):
            run.problems.append(f"{len(items) - sum(s.acks for s in streams)} messages never got a 250")
        if idle > 0:
            run.idle = watch_idle(server, name, nodes, idle)
    finally:
        codes = [node.stop() for node in nodes]
    if any(codes):
        run.problems.append(f"nodes exited {codes} on SIGTERM")
    outboxes = [node.config.parent / "var" / "outbox" for node in nodes]
    crash_run.check(engine, outboxes, items + warm, run.figures, run.problems)
    if run.figures.get("replies delivered twice (kill between write and commit)"):
        run.problems.append("replies delivered twice, without a kill")  # no node was killed here
    if run.figures.get("states") != {MessageState.APPLIED: len(items) + len(warm)}:
        run.problems.append(f"not every message applied: {run.figures.get('states')}")
    logs = [node.log_text() for node in nodes]
    # Deadlocks between transactions (PostgreSQL picks one to fail): a batch is then recorded again
    # one message at a time, a lease renewal waits for the next.
    run.figures["batches refused and redone one at a time"] = sum(
        log.count("; one at a time") for log in logs
    )
    run.figures["lease renewals failed"] = sum(log.count("lease renewal for") for log in logs)
    run.figures["tracebacks in the logs"] = sum(log.count("Traceback") for log in logs)
    if run.figures["tracebacks in the logs"]:
        run.problems.append("tracebacks in the nodes' logs")
    engine.dispose()
    return run


def watch_idle(server: Postgres, name: str, nodes: Sequence[pg.Serve], seconds: float) -> dict[str, float]:
    """Statements and transactions per second, and CPU, of nodes with nothing to do; the statements
    asked most, per second."""
    time.sleep(2.0)  # the last replies' bookkeeping ends
    statements, xacts = database_counters(server, name)
    cpu = [tree_cpu(node.pid) for node in nodes]
    postgres = tree_cpu(server.pid)
    time.sleep(seconds)
    statements2, xacts2 = database_counters(server, name)
    node_cpu = [tree_cpu(node.pid) - before for node, before in zip(nodes, cpu, strict=True)]
    asked = statements2 - statements
    return {
        "statements/s": asked.total() / seconds,
        "transactions/s": (xacts2 - xacts) / seconds,
        "node CPU % of a core (mean)": 100 * statistics.mean(node_cpu) / seconds,
        "PostgreSQL CPU % of a core": 100 * (tree_cpu(server.pid) - postgres) / seconds,
    } | {f"  {query}": n / seconds for query, n in asked.most_common(8)}


# --- Raw bytes: in PostgreSQL or in a spool directory --------------------------------------------------


def padded(raw: bytes, size: int) -> bytes:
    """raw with base64 lines of random bytes after its body up to about `size` bytes, as an attached
    photo or PDF would make it (random: PostgreSQL's TOAST compression gains nothing, as on real ones)."""
    lines = b"".join(base64.b64encode(os.urandom(57)) + b"\r\n" for _ in range(max(0, size - len(raw)) // 78))
    return raw + lines


@contextlib.contextmanager
def bytes_as_files(spool_dir: Path) -> Iterator[None]:
    """store_many with each message's bytes in a file of a spool directory instead of a rawmessage row,
    as mailgate kept them before issue #11: written to tmp/, fsynced, renamed, the directory fsynced,
    the batch's files at once from several threads. Only here, to measure that way."""
    pool = ThreadPoolExecutor(16)

    def write(raw: bytes) -> str:
        digest = hashlib.sha256(raw).hexdigest()
        rel = f"{digest[:2]}/{digest}.eml"
        private_dir((spool_dir / rel).parent)
        write_durably(spool_dir / rel, raw, tmp_dir=private_dir(spool_dir / "tmp"))
        return rel

    kept = spool.keep_many_in_db
    spool.keep_many_in_db = lambda _conn, raws: list(pool.map(write, raws))  # type: ignore[assignment]
    try:
        yield
    finally:
        spool.keep_many_in_db = kept
        pool.shutdown()


def raw_bytes_ways(
    server: Postgres, directory: Path, items: list[crash_run.Item], batch: int, rounds: int, pad: int
) -> dict[str, dict[str, float]]:
    """For each way: median msg/s over the rounds and the space its messages took (last round).
    pad: each message made about this size (0: as it is)."""
    arrivals = [Arrival(padded(i.raw, pad), [i.rcpt], i.sender, "smtp", "127.0.0.1") for i in items]
    rates: dict[str, list[float]] = {"database": [], "spool": []}
    space: dict[str, dict[str, float]] = {}
    for r in range(rounds):
        for way in ("database", "spool") if r % 2 == 0 else ("spool", "database"):
            name = f"raw_{way}"
            engine = db.make_engine(fresh_database(server, name))
            spool_dir = directory / f"spool-{way}-{r}"
            before = space_used(engine)
            started = time.perf_counter()
            with bytes_as_files(spool_dir) if way == "spool" else contextlib.nullcontext():
                for k in range(0, len(arrivals), batch):
                    store_many(engine, spool_dir, arrivals[k : k + batch])
            rates[way].append(len(arrivals) / (time.perf_counter() - started))
            after = space_used(engine)
            files = (
                sum(p.stat().st_blocks * 512 for p in spool_dir.rglob("*.eml")) if spool_dir.exists() else 0
            )
            space[way] = {what: (after[what] - before[what]) / len(arrivals) for what in after} | {
                "spool files B/msg": files / len(arrivals)
            }
            engine.dispose()
    return {way: {"msg/s": statistics.median(rates[way]), **space[way]} for way in rates}


def space_used(engine: sa.Engine) -> dict[str, float]:
    """Bytes so far: the database's files, the message and rawmessage tables (with their indexes and
    TOAST), and the WAL written (the LSN)."""
    with engine.connect() as c:
        whole, message, raw, wal = c.execute(
            sa.text(
                "SELECT pg_database_size(current_database()), pg_total_relation_size('message'), "
                "pg_total_relation_size('rawmessage'), pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"
            )
        ).one()
    return {
        "database B/msg": whole,
        "message table B/msg": message,
        "rawmessage table B/msg": raw,
        "WAL B/msg": float(wal),
    }


# --- The report -----------------------------------------------------------------------------------------


def report_runs(runs: list[Run], count: int) -> None:
    one = runs[0]
    print(
        f"{'nodes':>5} {'intake msg/s':>13} {'x1':>5} {'processed msg/s':>16} {'x1':>5} "
        f"{'replied s':>9} {'node CPU ms/msg (each)':>30} {'x1':>5} {'PG ms/msg':>9} {'load':>9}"
    )
    for run in runs:
        intake, processed = count / run.intake, count / run.final
        cpu = 1000 * sum(run.node_cpu) / count
        each = " ".join(f"{1000 * c / count:.1f}" for c in run.node_cpu)
        print(
            f"{run.nodes:>5} {intake:>13.0f} {intake / (count / one.intake):>5.2f} {processed:>16.1f} "
            f"{processed / (count / one.final):>5.2f} {run.replied:>9.1f} {f'{cpu:.1f} ({each})':>30} "
            f"{cpu / (1000 * sum(one.node_cpu) / count):>5.2f} {1000 * run.postgres_cpu / count:>9.1f} "
            f"{run.load[0]:>4.1f}-{run.load[1]:<4.1f}"
        )
    print(f"  the client's own CPU (6 SMTP senders): {1000 * runs[0].client_cpu / count:.1f} ms/msg")
    for run in runs:
        print(f"  {run.nodes} node(s): " + "; ".join(f"{k} {v}" for k, v in run.figures.items()))
        if run.idle:
            print(f"  {run.nodes} nodes idle, per second:")
            print("\n".join(f"    {v:6.2f} {k}" for k, v in run.idle.items()))


def report_raw(ways: dict[str, dict[str, float]], count: int, batch: int, mean_size: float) -> None:
    print(f"raw bytes, {count} messages (mean {mean_size:.0f} B) stored {batch} per transaction:")
    base = ways["database"]["msg/s"]
    for way, figures in ways.items():
        rest = ", ".join(f"{k} {v:,.0f}" for k, v in figures.items() if k != "msg/s")
        ratio = figures["msg/s"] / base
        print(f"  {way:<8} {figures['msg/s']:7.0f} msg/s ({ratio:.2f}x in the database); {rest}")


def main() -> int:
    parser = pg.arguments(__doc__, seconds=600)
    parser.add_argument("--count", type=int, default=1500, help="messages in the stream, per run")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--idle", type=float, default=30, help="seconds to watch the last run's nodes idle")
    parser.add_argument("--raw-count", type=int, default=1500, help="messages per raw-bytes round (0: skip)")
    parser.add_argument(
        "--batch", type=int, default=8, help="messages per transaction in the raw-bytes rounds"
    )
    parser.add_argument(
        "--raw-size",
        type=int,
        nargs="+",
        default=[0, 32],
        help="kB per message in the raw-bytes rounds (0: as sent)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="raw-bytes rounds (each way once per round)")
    args = parser.parse_args()
    directory = pg.directory(args, "mailgate-bench-nodes-")
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, in {directory}")
    items = items_of(args.count)
    problems: list[str] = []
    with running_postgres(directory / "pg", "shared_preload_libraries=pg_stat_statements") as server:
        make_template(server)
        runs = []
        for n in args.nodes:
            idle = args.idle if n == args.nodes[-1] else 0.0
            runs.append(run_nodes(server, directory, n, items, args.seconds, idle))
            problems += [f"{n} node(s): {p}" for p in runs[-1].problems]
            print(f"  {n} node(s) done: {runs[-1].final:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        if all(run.final for run in runs):
            report_runs(runs, len(items))
        raw_items = items_of(args.raw_count)
        for size in args.raw_size if raw_items else ():
            ways = raw_bytes_ways(server, directory, raw_items, args.batch, args.rounds, size * 1024)
            mean_size = statistics.mean(len(padded(i.raw, size * 1024)) for i in raw_items)
            report_raw(ways, len(raw_items), args.batch, mean_size)
    report = pg.Report({"load at the end": f"{os.getloadavg()[0]:.1f}"}, problems)
    return pg.finish(f"bench_nodes {' '.join(sys.argv[1:])}", directory, report, keep=bool(args.dir))


if __name__ == "__main__":
    sys.exit(main())
