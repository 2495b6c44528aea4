"""Memory soak: a long stream of mixed mail over SMTP into one `mailgate serve` (with its worker, on
SQLite, on 127.0.0.1) while the resident memory of serve and of its reader children is sampled, then
whether it grows with the number of messages.

    .venv/bin/python scripts/soak.py                        # 100,000 messages
    .venv/bin/python scripts/soak.py --count 5000 --seconds 900

The stream: blank signups (each from its own address, 60 %), DKIM-signed STORES booking notices (each
its own reservation number and slot, 30 %) and mails of the sample corpus under a new Message-ID
(10 %), from several SMTP sessions. The senders keep at most --window messages ahead of the worker,
so intake and processing run side by side the whole time instead of a burst then a backlog.

Every --sample seconds: VmRSS and VmHWM (the peak so far) of serve and of each reader child, from
/proc, beside the messages in a final state. The report gives them at 10 %, 50 % and 100 % of the
messages (serve's RSS just after it said ready is the baseline), and the peak RSS of each tenth of
the run: flat when the last tenth's peak is within --growth (10 %) of the second tenth's (the first
holds the start: imports, caches, the readers starting). Checks: every message got 250, is stored and
ends in a final state; serve stays up; no traceback; flat. Bounded by --seconds; exit code 0 when all
hold. The per-client limits are lifted in its config (every client is 127.0.0.1; README "Proof under
load").
"""

from __future__ import annotations

import itertools
import os
import re
import smtplib
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import crash_run  # the signed STORES notices of the crash run
import proving_ground as pg  # the helpers beside this script

from mailgate.models import Message, MessageState

DONE = (*MessageState.FINAL, MessageState.DEFERRED)  # deferred: a corpus change for a booking never made
PER_CONNECTION = 40  # under [smtp] max_messages_per_connection (50)
CORPUS_MAILS = sorted(pg.CORPUS.glob("*/*.eml"))
_MESSAGE_ID = re.compile(rb"^message-id:[^\r\n]*\r?\n", re.IGNORECASE | re.MULTILINE)


def mail(n: int) -> tuple[str, str, bytes]:
    """(envelope sender, recipient, raw) of the n-th message of the stream."""
    kind = n % 20
    if kind < 12:
        addr = f"soak{n}@example.jp"
        raw = f"From: {addr}\r\nTo: {pg.SIGNUP}\r\nSubject: \r\nMessage-ID: <soak-{n}@example.jp>\r\n\r\n"
        return addr, pg.SIGNUP, raw.encode()
    if kind < 18:
        k = n // 20 * 6 + kind - 12  # 0, 1, 2, ...: each booking its own number and slot
        raw = crash_run.booked_notice(k, f"S{k:07d}", email=f"soakcustomer{k}@example.jp", phones=2000)
        return "noreply@coubic.com", pg.NOTICES, crash_run.stores_signed(raw)
    source = CORPUS_MAILS[n // 20 % len(CORPUS_MAILS)]
    head, sep, body = (
        source.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").partition(b"\r\n\r\n")
    )
    raw = _MESSAGE_ID.sub(b"", head + sep, count=1) + body
    rcpt = pg.SIGNUP if source.parent.name in ("phone", "noise") else pg.NOTICES
    return f"corpus{n}@example.jp", rcpt, f"Message-ID: <soak-{n}@example.jp>\r\n".encode() + raw


@dataclass
class Sample:
    at: float
    sent: int  # 250s so far
    done: int  # messages in a final state
    serve_rss: int  # KiB
    serve_hwm: int
    reader_rss: int  # the largest reader child's
    reader_hwm: int
    readers: int


@dataclass
class Stream:
    """The senders' shared state: the next message, and how far they may run ahead of the worker."""

    port: int
    count: int
    window: int
    next_n: itertools.count[int] = field(default_factory=itertools.count)
    acks: int = 0
    done: int = 0  # updated by the sampler
    retried: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> int | None:
        while not self.stop.is_set():
            with self.lock:
                if self.acks - self.done < self.window:
                    n = next(self.next_n)
                    return n if n < self.count else None
            time.sleep(0.05)
        return None

    def run_sender(self) -> None:
        conn: smtplib.SMTP | None = None
        sent_here = 0
        n = self.take()
        while n is not None and not self.stop.is_set():
            sender, rcpt, raw = mail(n)
            try:
                if conn is None or sent_here >= PER_CONNECTION:
                    _close(conn)
                    conn, sent_here = smtplib.SMTP("127.0.0.1", self.port, timeout=120), 0
                conn.sendmail(sender, [rcpt], raw)
                sent_here += 1
            except smtplib.SMTPResponseException as e:
                _close(conn)
                conn = None
                if e.smtp_code >= 500:  # nothing in this stream deserves a 5xx
                    self.refused.append(f"{n}: {e.smtp_code} {e.smtp_error!r}"[:200])
                    n = self.take()
                else:
                    self.retried[str(e.smtp_code)] += 1
                    time.sleep(0.5)
                continue
            except (OSError, smtplib.SMTPException) as e:
                _close(conn)
                conn = None
                self.retried[type(e).__name__] += 1
                time.sleep(0.5)
                continue
            with self.lock:
                self.acks += 1
            n = self.take()
        _close(conn)


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


def readers_of(pid: int) -> list[int]:
    """The reader children of serve (pipeline/isolated.py), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if ppid == pid and b"mailgate.pipeline.isolated" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def done_count(engine: Engine) -> int:
    with Session(engine) as s:
        stmt = select(func.count()).select_from(Message).where(col(Message.state).in_(DONE))
        return int(s.scalar(stmt) or 0)


def sample(serve: pg.Serve, stream: Stream, engine: Engine, began: float) -> Sample:
    stream.done = done_count(engine)
    readers = readers_of(serve.pid)
    return Sample(
        at=time.monotonic() - began,
        sent=stream.acks,
        done=stream.done,
        serve_rss=pg.vm_kib(serve.pid, "VmRSS"),
        serve_hwm=pg.vm_kib(serve.pid, "VmHWM"),
        reader_rss=max((pg.vm_kib(p, "VmRSS") for p in readers), default=0),
        reader_hwm=max((pg.vm_kib(p, "VmHWM") for p in readers), default=0),
        readers=len(readers),
    )


def mb(kib: int) -> str:
    return f"{kib / 1024:.0f} MB"


def deciles(samples: list[Sample], count: int) -> list[list[Sample]]:
    """The samples of each tenth of the run, by messages done."""
    tenths: list[list[Sample]] = [[] for _ in range(10)]
    for s in samples:
        tenths[min(9, s.done * 10 // max(count, 1))].append(s)
    return tenths


def memory_figures(
    samples: list[Sample], count: int, baseline: int, growth: float | None, problems: list[str]
) -> dict[str, object]:
    figures: dict[str, object] = {"serve RSS just after ready (baseline)": mb(baseline)}
    for share in (10, 50, 100):
        at = next((s for s in samples if s.done * 100 >= share * count), None)
        if at is not None:
            figures[f"at {share} % ({at.done} done, {at.at:.0f} s)"] = (
                f"serve RSS {mb(at.serve_rss)} (peak {mb(at.serve_hwm)}), "
                f"largest reader RSS {mb(at.reader_rss)} (peak {mb(at.reader_hwm)}), {at.readers} readers"
            )
    tenths = deciles(samples, count)
    peaks = [max((s.serve_rss for s in t), default=0) for t in tenths]
    reader_peaks = [max((s.reader_rss for s in t), default=0) for t in tenths]
    figures["serve peak RSS per tenth (MB)"] = " ".join(f"{p / 1024:.0f}" for p in peaks)
    figures["largest reader's peak RSS per tenth (MB)"] = " ".join(f"{p / 1024:.0f}" for p in reader_peaks)
    for who, series in (("serve", peaks), ("reader", reader_peaks)):
        if series[1] and series[9]:
            ratio = series[9] / series[1]
            figures[f"{who}: last tenth's peak / second tenth's"] = f"{ratio:.2f}"
            if growth is not None and ratio > 1 + growth:
                problems.append(f"{who} RSS grows: last tenth {mb(series[9])}, second {mb(series[1])}")
        elif growth is not None:
            problems.append(f"{who}: no samples in the second or last tenth")
    return figures


def soak(
    directory: Path,
    *,
    count: int,
    sessions: int = 4,
    window: int = 1000,
    seconds: float = 3600,
    every: float = 5.0,
    growth: float | None = 0.10,
) -> pg.Report:
    """The whole run in `directory` (a fresh shop); bounded by `seconds`. growth=None: RSS is sampled
    and reported, not judged (a run too short to have a second tenth worth the name)."""
    cfg = pg.write_shop(directory)
    serve = pg.Serve(cfg)
    stream = Stream(serve.smtp_port, count, window)
    began = time.monotonic()
    deadline = began + seconds
    serve.start()
    engine = pg.engine_of(cfg)
    baseline = pg.vm_kib(serve.pid, "VmRSS")
    samples: list[Sample] = []
    senders = [threading.Thread(target=stream.run_sender, daemon=True) for _ in range(sessions)]
    for t in senders:
        t.start()
    load = [os.getloadavg()[0]]
    problems: list[str] = []
    try:
        next_sample = 0.0
        while time.monotonic() < deadline and serve.alive:
            if time.monotonic() >= next_sample:
                samples.append(sample(serve, stream, engine, began))
                load.append(os.getloadavg()[0])
                next_sample = time.monotonic() + every
                if stream.done >= count:
                    break
            stream.done = done_count(engine)  # the senders' window: fresher than the samples
            time.sleep(0.5)
        if serve.alive:
            samples.append(sample(serve, stream, engine, began))
        else:
            problems.append(f"serve exited ({serve.proc.returncode if serve.proc else '?'})")
        stream.stop.set()
        for t in senders:
            t.join(timeout=150)
        code = serve.stop()
        if code != 0:
            problems.append(f"serve exited {code} on SIGTERM")
        with Session(engine) as s:
            states = Counter(state for (state,) in s.exec(select(Message.state)))
        stored, done = sum(states.values()), sum(states[x] for x in DONE)
        if stream.acks < count:
            problems.append(f"{count - stream.acks} of {count} messages got no 250 within {seconds:.0f} s")
        if stored != stream.acks or done != stored:
            problems.append(f"{stream.acks} got 250, {stored} stored, {done} in a final state")
        if stream.refused:
            problems.append(f"{len(stream.refused)} refused: {stream.refused[:3]}")
        tracebacks = serve.log_text().count("Traceback")
        if tracebacks:
            problems.append(f"{tracebacks} tracebacks in the server log")
        last = samples[-1]
        figures: dict[str, object] = {
            "messages: 250s / stored / final": f"{stream.acks} / {stored} / {done}",
            "states": dict(states),
            "seconds, in all": f"{time.monotonic() - began:.0f}",
            "messages done per second": f"{last.done / max(last.at, 1):.1f}",
            "SMTP sessions; sent again after a 4xx or a dropped connection": (
                f"{sessions}; {dict(stream.retried)}"
            ),
            "samples (every s)": f"{len(samples)} ({every:g})",
            "load average (1 min), least / most": f"{min(load):.1f} / {max(load):.1f}",
            "tracebacks in the server log": tracebacks,
        }
        # Cut short by --seconds: the tenths are of what was done.
        figures.update(memory_figures(samples, min(count, last.done), baseline, growth, problems))
        return pg.Report(figures, problems, samples)
    finally:
        stream.stop.set()
        engine.dispose()
        if serve.alive:
            serve.kill()


def main() -> int:
    parser = pg.arguments(__doc__ or "", seconds=3600)
    parser.add_argument("--count", type=int, default=100_000, help="messages to send")
    parser.add_argument("--sessions", type=int, default=4, help="SMTP sessions at once")
    parser.add_argument("--window", type=int, default=1000, help="most messages 250'd and not yet done")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--growth", type=float, default=0.10, help="allowed last-tenth / second-tenth - 1")
    parser.add_argument("--keep", action="store_true", help="keep the shop directory even when all held")
    args = parser.parse_args()
    where = pg.directory(args, "mailgate-soak-")
    report = soak(
        where,
        count=args.count,
        sessions=args.sessions,
        window=args.window,
        seconds=args.seconds,
        every=args.sample,
        growth=args.growth,
    )
    return pg.finish(f"soak: {args.count} messages", where, report, args.keep)


if __name__ == "__main__":
    sys.exit(main())
