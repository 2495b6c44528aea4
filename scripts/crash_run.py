"""Crash run: a stream of mail over SMTP into a `mailgate serve` that is SIGKILLed at random moments
and started again each time, then a check that nothing was lost, doubled or left half done.

    .venv/bin/python scripts/crash_run.py                                  # 60 kills, 3,000 messages
    .venv/bin/python scripts/crash_run.py --kills 5 --messages 200 --seed 7
    .venv/bin/python scripts/crash_run.py --db postgresql+psycopg://postgres@127.0.0.1:15432/crash

The stream: blank signups (each from its own address), DKIM-signed STORES booking notices (each its
own reservation number, customer and slot) and cancellations of some of them. Senders retry what
they did not see a 250 for, as an MTA does, and now and then send again a message whose 250 they did
see (the 250 lost on the way). A kill comes at a random moment, one in eight while serve is still
starting. After the last start the worker finishes, and the checks run on the database and the
outbox Maildir: every message that got 250 stored once and in a final state; one booking per
reservation number and per customer and time; every booking's creation and cancellation in the
audit events; one registration mail per signup, delivered once except when a kill fell between the
Maildir write and the commit that records it (counted and reported). Exit code 0 when all hold.
"""

from __future__ import annotations

import collections
import contextlib
import email
import functools
import random
import smtplib
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.policy import compat32
from pathlib import Path

import dkim as dkimpy
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import proving_ground as pg  # the helpers beside this script

from mailgate.mail import dkim
from mailgate.models import Booking, BookingStatus, Customer, Event, Message, MessageState, Outbox
from tests import notices  # vendor notices signed with the corpus test keys

FIRST_SLOT = datetime(2030, 1, 7, 10)  # far ahead: no run depends on today's date
FAMILY = [
    ("佐々木", "ササキ"),
    ("高橋", "タカハシ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("中村", "ナカムラ"),
]
GIVEN = [("花子", "ハナコ"), ("次郎", "ジロウ"), ("美咲", "ミサキ")]
SENDERS = 4  # concurrent SMTP clients
PER_CONNECTION = 8  # messages one client sends over one connection


@dataclass
class Item:
    """One message of the stream, sent until the server says 250 (and now and then once more)."""

    n: int
    kind: str  # signup | booked | cancelled
    sender: str
    rcpt: str
    raw: bytes
    msgid: str
    number: str = ""  # the reservation number of a notice
    acks: int = 0
    tries: int = 0


def plan(count: int, rng: random.Random) -> list[Item]:
    """Half signups, 40 % booking notices, 10 % cancellations of earlier bookings, shuffled a little."""
    items: list[Item] = []
    booked: list[Item] = []
    for n in range(count):
        kind = "signup" if n % 10 < 5 else "booked" if n % 10 < 9 or not booked else "cancelled"
        if kind == "signup":
            addr = f"guest{n}@example.jp"
            msgid = f"crash-signup-{n}@example.jp"
            raw = f"From: {addr}\r\nTo: {pg.SIGNUP}\r\nSubject: \r\nMessage-ID: <{msgid}>\r\n\r\n".encode()
            items.append(Item(n, kind, addr, pg.SIGNUP, raw, msgid))
            continue
        if kind == "booked":
            k = n // 10 * 4 + n % 10 - 5  # 0, 1, 2, ...: each booking its own number and slot
            number = f"7{k:07d}"
            raw = booked_notice(k, number, email=f"customer{k}@example.jp", phones=1000)
        else:
            victim = booked.pop(rng.randrange(len(booked)))
            number, k = victim.number, int(victim.number[1:])
            # Signed a day after the booking: a later notice, never taken for an older one.
            raw = notices.stores_cancelled(
                number,
                notices.jp_when(slot(k)),
                name=name(k),
                date=datetime.fromisoformat("2026-11-27T09:00:00+09:00"),
            )
        raw = stores_signed(raw)
        msgid = str(email.message_from_bytes(raw, policy=compat32)["Message-ID"]).strip("<>")
        item = Item(n, kind, "noreply@coubic.com", pg.NOTICES, raw, msgid, number)
        items.append(item)
        if kind == "booked":
            booked.append(item)
    return items


@functools.cache
def _stores_pem() -> bytes:
    """The corpus test key of coubic.com as dkimpy takes it, read once (reading it checks the RSA key,
    a third of a second each time: thousands of notices would take many minutes)."""
    key = serialization.load_pem_private_key((pg.CORPUS / "keys" / "coubic.com.s1.pem").read_bytes(), None)
    pkcs1 = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, pkcs1, serialization.NoEncryption())


def stores_signed(raw: bytes) -> bytes:
    """The notice signed as STORES signs it (tests/notices.py does the same, reading the key each time)."""
    header = dkimpy.sign(
        raw,
        b"s1",
        b"coubic.com",
        _stores_pem(),
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=b"rsa-sha256",
        include_headers=dkim.oversigned(raw),
    )
    return header + raw


def slot(k: int) -> datetime:
    """The k-th booking's start: two staff, two bookings an hour from 10:00 to 20:00, then the next day."""
    return FIRST_SLOT + timedelta(days=k // 20, hours=(k % 20) // 2)


def booked_notice(k: int, number: str, *, email: str, phones: int) -> bytes:
    """STORES's unsigned notice of the k-th booking; its customer's phone number in the block 090-`phones`."""
    return notices.stores_booked(
        number,
        notices.jp_when(slot(k)),
        signer=None,
        staff=pg.STAFF[k % 2],
        name=name(k),
        kana=name(k, kana=True),
        email=email,
        phone=f"090-{phones + k // 10000:04d}-{k % 10000:04d}",
    )


def name(k: int, kana: bool = False) -> str:
    (family, family_kana), (given, given_kana) = FAMILY[k % 5], GIVEN[k // 5 % 3]
    return f"{family_kana} {given_kana}" if kana else f"{family} {given}"


@dataclass
class Stream:
    """The senders' shared queue and what they saw."""

    port: int
    rng: random.Random
    redeliver: float  # the share of 250s "lost": the message is sent again
    queue: collections.deque[Item] = field(default_factory=collections.deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    sent: int = 0  # DATA commands finished or interrupted
    acks: int = 0  # 250s
    unseen: int = 0  # sends whose 250 the client did not see: sent again
    lost_250s: int = 0  # 250s thrown away on purpose: sent again
    down: int = 0  # connections refused: nobody listening (not a send)
    refused: Counter[str] = field(default_factory=Counter)  # 4xx/5xx answers, by first line
    in_flight: int = 0

    def take(self) -> Item | None:
        with self.lock:
            if not self.queue:
                return None
            self.in_flight += 1
            return self.queue.popleft()

    def done(self, item: Item, acked: bool) -> None:
        with self.lock:
            self.in_flight -= 1
            self.sent += 1
            if acked:
                self.acks += 1
                item.acks += 1
                if item.acks == 1 and self.rng.random() < self.redeliver:
                    self.lost_250s += 1
                    self.queue.insert(self.rng.randrange(len(self.queue) + 1), item)
            else:
                self.unseen += 1
                self.queue.append(item)

    def connect(self) -> smtplib.SMTP | None:
        try:
            return smtplib.SMTP("127.0.0.1", self.port, timeout=30)
        except ConnectionRefusedError:
            with self.lock:
                self.down += 1
            time.sleep(0.05)
            return None

    def put_back(self, item: Item) -> None:
        with self.lock:
            self.in_flight -= 1
            self.queue.appendleft(item)

    @property
    def finished(self) -> bool:
        with self.lock:
            return not self.queue and not self.in_flight

    def run_sender(self) -> None:
        conn: smtplib.SMTP | None = None
        used = 0
        while not self.stop.is_set():
            item = self.take()
            if item is None:
                time.sleep(0.05)
                continue
            acked = False
            try:
                if conn is None or used >= PER_CONNECTION:
                    if conn is not None:
                        _quit(conn)
                    conn, used = self.connect(), 0
                if conn is None:
                    self.put_back(item)
                    continue
                used += 1
                item.tries += 1
                conn.sendmail(item.sender, [item.rcpt], item.raw)
                acked = True
            except smtplib.SMTPResponseException as e:
                self.refused[f"{e.smtp_code} {e.smtp_error[:60]!r}"] += 1
                conn = _drop(conn)
            except smtplib.SMTPRecipientsRefused as e:
                self.refused[str(next(iter(e.recipients.values())))[:70]] += 1
                conn = _drop(conn)
            except (OSError, smtplib.SMTPException):
                conn = _drop(conn)  # refused, reset or cut off: the server is down or dying
                time.sleep(0.05)
            self.done(item, acked)
        if conn is not None:
            _quit(conn)


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def _drop(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        conn.close()


def crash_run(
    directory: Path,
    *,
    kills: int,
    messages: int,
    seed: int,
    db_url: str = "",
    seconds: float = 1800,
    gap: float = 4.0,
) -> pg.Report:
    """The whole run in `directory` (a fresh shop); bounded by the number of kills and `seconds`.
    A kill comes between 0 and 2 × `gap` seconds after serve said ready: kills a second apart on a
    busy machine strike the first message each time, before its reader child has even started."""
    rng = random.Random(seed)
    cfg = pg.write_shop(directory, db_url=db_url)
    serve = pg.Serve(cfg)
    items = plan(messages, rng)
    stream = Stream(serve.smtp_port, random.Random(seed + 1), redeliver=0.05)
    stream.queue.extend(items)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    serve.start()
    senders = [threading.Thread(target=stream.run_sender, daemon=True) for _ in range(SENDERS)]
    for t in senders:
        t.start()
    survived = during_start = 0
    try:
        while survived < kills and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.0, 2 * gap))
            serve.kill()
            survived += 1
            if rng.random() < 1 / 8:  # killed again while starting (recovery, schema check, listeners)
                serve_start_and_kill(serve, rng.uniform(0.2, 2.5))
                during_start += 1
            serve.start()
        while not stream.finished and time.monotonic() < deadline:
            time.sleep(0.1)
        stream.stop.set()
        for t in senders:
            t.join(timeout=60)
        engine = pg.engine_of(cfg)
        try:
            left = pg.wait_until(lambda: pg.settled(engine, True), max(30.0, deadline - time.monotonic()))
        except TimeoutError as e:
            left = f"not settled: {e}"
        code = serve.stop()
        took = f"{time.monotonic() - started:.0f} / {serve.starting_seconds:.0f}"
        figures: dict[str, object] = {
            "messages in the stream": len(items),
            "SMTP transactions (DATA sent)": stream.sent,
            "250s": stream.acks,
            "sent again, 250 not seen (kill)": stream.unseen,
            "sent again, 250 seen (lost on the way)": stream.lost_250s,
            "connections refused (serve down)": stream.down,
            "kills survived (SIGKILL)": survived,
            "of which while starting": during_start,
            "serve started": serve.starts,
            "seconds, in all / starting serve": took,
            "after the last start": left,
        }
        problems = [] if stream.finished else [f"{len(stream.queue)} messages never got a 250 in time"]
        if code != 0:
            problems.append(f"the last serve exited {code} on SIGTERM")
        if stream.refused:
            figures["refusals (then retried)"] = dict(stream.refused.most_common(5))
        check(engine, [cfg.parent / "var" / "outbox"], items, figures, problems)
        tracebacks = serve.log_text().count("Traceback")
        figures["tracebacks in the server log"] = tracebacks
        engine.dispose()
        return pg.Report(figures, problems, items)
    finally:
        stream.stop.set()
        if serve.alive:
            serve.kill()


def serve_start_and_kill(serve: pg.Serve, after: float) -> None:
    """Started and killed `after` seconds later, ready or not."""
    with contextlib.suppress(RuntimeError):  # not ready yet: exactly the moment wanted
        serve.start(timeout=after)
    if serve.alive:
        serve.kill()


def check(
    engine: object,
    outboxes: Sequence[Path],
    items: list[Item],
    figures: dict[str, object],
    problems: list[str],
) -> None:
    """The end state against what the stream had acknowledged; outboxes: the Maildir of each node."""
    with Session(engine) as s:  # type: ignore[arg-type]
        messages = list(s.exec(select(Message)))
        bookings = list(s.exec(select(Booking)))
        customers = list(s.exec(select(Customer)))
        events = list(s.exec(select(Event)))
        outbox_rows = list(s.exec(select(Outbox)))
    acked = [i for i in items if i.acks]
    stored = Counter((m.header_message_id, m.rcpt) for m in messages)
    missing = [i.n for i in acked if stored[(i.msgid, i.rcpt)] == 0]
    twice = [k for k, n in stored.items() if n > 1]
    figures["messages stored"] = len(messages)
    figures["states"] = dict(Counter(m.state for m in messages))
    if missing:
        problems.append(f"{len(missing)} messages got 250 and are not stored: {missing[:10]}")
    if twice:
        problems.append(f"{len(twice)} messages stored twice: {twice[:5]}")
    # A cancellation whose booking notice was set aside waits for it (deferred, held after [notices]
    # defer_hours): as it should, since that booking never reaches the ledger.
    set_aside = {m.header_message_id for m in messages if m.state == MessageState.FAILED}
    lost_numbers = {f"stores:{i.number}" for i in items if i.kind == "booked" and i.msgid in set_aside}
    orphans = [m for m in messages if m.state == MessageState.DEFERRED and m.waiting_for in lost_numbers]
    figures["cancellations waiting for a booking set aside"] = len(orphans)
    unfinished = [(m.id, m.state) for m in messages if m.state not in MessageState.FINAL and m not in orphans]
    if unfinished:
        problems.append(f"{len(unfinished)} messages not in a final state: {unfinished[:10]}")
    unexplained = [
        m.id for m in messages if m.state in (MessageState.HELD, MessageState.FAILED) and not m.reason
    ]
    if unexplained:
        problems.append(f"held or failed without a reason: {unexplained[:10]}")
    not_applied = Counter(f"{m.state}: {m.reason[:70]}" for m in messages if m.state != MessageState.APPLIED)
    if not_applied:
        figures["not applied (state: reason)"] = dict(not_applied.most_common(5))
    figures["tracebacks on messages"] = sum(1 for m in messages if m.traceback)
    # A kill with a message in work is not the message's fault: it is taken again, and set aside only
    # after claim.MAX_LOST_LEASES of them (the guard against a mail that kills the whole node).
    figures["taken again after kills in their work (most kills for one)"] = (
        f"{sum(m.lost_leases > 0 for m in messages)} ({max((m.lost_leases for m in messages), default=0)})"
    )
    figures["set aside after lost leases"] = sum("lost its lease" in m.reason for m in messages)
    applied = {m.header_message_id for m in messages if m.state == MessageState.APPLIED}
    done = [i for i in acked if i.msgid in applied]
    check_bookings(bookings, events, done, figures, problems)
    check_customers(customers, events, problems)
    check_replies(outbox_rows, outboxes, done, figures, problems)


def check_bookings(
    bookings: list[Booking],
    events: list[Event],
    items: list[Item],
    figures: dict[str, object],
    problems: list[str],
) -> None:
    per_number = Counter((b.source, b.external_id) for b in bookings)
    live = [b for b in bookings if b.status in BookingStatus.LIVE]
    per_slot = Counter((b.customer_id, b.start) for b in live)
    doubled = [k for k, n in per_number.items() if n > 1] + [k for k, n in per_slot.items() if n > 1]
    figures["bookings (cancelled)"] = (
        f"{len(bookings)} ({sum(b.status == BookingStatus.CANCELLED for b in bookings)})"
    )
    figures["bookings twice (per number, per customer and time)"] = len(doubled)
    if doubled:
        problems.append(f"bookings twice: {doubled[:5]}")
    numbers = {i.number for i in items if i.kind == "booked"}
    cancelled = {i.number for i in items if i.kind == "cancelled"}
    have = {b.external_id: b for b in bookings}
    if numbers - set(have):
        problems.append(f"booked, acknowledged, no booking: {sorted(numbers - set(have))[:10]}")
    wrong = [
        n for n in numbers if n in have and (have[n].status == BookingStatus.CANCELLED) != (n in cancelled)
    ]
    if wrong:
        problems.append(f"bookings whose status is not what their notices say: {wrong[:10]}")
    for kind, wanted in (("booking_created", bookings), ("booking_cancelled", bookings)):
        ids = Counter(e.detail.get("booking_id") for e in events if e.kind == kind)
        expect = {b.id for b in wanted if kind == "booking_created" or b.status == BookingStatus.CANCELLED}
        if set(ids) != expect or any(n != 1 for n in ids.values()):
            problems.append(f"{kind} events do not match the bookings one to one")
    audited = {e.message_id for e in events}
    orphans = [b.id for b in bookings if b.message_id not in audited]
    if orphans:
        problems.append(f"bookings whose message has no audit event: {orphans[:10]}")


def check_customers(customers: list[Customer], events: list[Event], problems: list[str]) -> None:
    recorded = {e.customer_id for e in events if e.kind in ("customer_created", "customer_pending")}
    silent = [c.id for c in customers if c.id not in recorded]
    if silent:
        problems.append(f"customers without a creation event: {silent[:10]}")


def check_replies(
    rows: list[Outbox],
    outboxes: Sequence[Path],
    items: list[Item],
    figures: dict[str, object],
    problems: list[str],
) -> None:
    """One registration mail per signup in the outbox table; in the Maildir one file per row, a second
    only where a kill fell between writing the file and recording it."""
    per_person = Counter((r.to_addr, r.template) for r in rows)
    signups = {i.sender for i in items if i.kind == "signup"}
    registered = {a for (a, t) in per_person if t == "register_link"}
    if signups - registered:
        problems.append(f"signups without a registration mail: {sorted(signups - registered)[:10]}")
    doubled = [k for k, n in per_person.items() if n > 1]
    if doubled:
        problems.append(f"replies queued twice: {doubled[:5]}")
    delivered = [p for o in outboxes if (o / "new").is_dir() for p in sorted((o / "new").iterdir())]
    files = Counter(
        str(email.message_from_bytes(p.read_bytes(), policy=compat32)["Message-ID"]).strip("<>")
        for p in delivered
    )
    ids = {r.header_message_id for r in rows}
    lost = [r.id for r in rows if r.state == "sent" and files[r.header_message_id] == 0]
    strays = set(files) - ids
    figures["replies queued"] = len(rows)
    figures["reply files in the Maildir"] = sum(files.values())
    figures["replies delivered twice (kill between write and commit)"] = sum(
        n - 1 for n in files.values() if n > 1
    )
    if lost:
        problems.append(f"replies recorded as sent, no file: {lost[:10]}")
    if strays:
        problems.append(f"files in the Maildir no row explains: {sorted(strays)[:5]}")


def main() -> int:
    parser = pg.arguments(__doc__, seconds=1800)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default="", help="a database URL (default: SQLite in the run's directory)")
    parser.add_argument("--gap", type=float, default=4.0, help="mean seconds from ready to the kill")
    args = parser.parse_args()
    where = pg.directory(args, "mailgate-crash-")
    report = crash_run(
        where,
        kills=args.kills,
        messages=args.messages,
        seed=args.seed,
        db_url=args.db,
        seconds=args.seconds,
        gap=args.gap,
    )
    return pg.finish(f"crash run, seed {args.seed}", where, report, keep=bool(args.dir))


if __name__ == "__main__":
    sys.exit(main())
