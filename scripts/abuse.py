"""SMTP and HTTP abuse under load, while a well-behaved client keeps sending mail and opening pages.

    .venv/bin/python scripts/abuse.py                   # 30 s of abuse
    .venv/bin/python scripts/abuse.py --seconds 10

Each abuser comes from its own loopback address (127.0.0.2 ...), the well-behaved client from
127.0.0.1, so the per-client limits are each their own. The run sets, and says, `[smtp]
command_seconds` and `[web] request_seconds` to 5 (Postfix's 300 s would outlast the run); every
other limit is the default. Abuse: pipelining floods (thousands of transactions written without
reading a reply), thousands of RCPTs in one transaction, many connections from one address held idle,
slow clients writing a byte at a time, the same on HTTP (many idle connections, slow headers, a flood
of requests). Checks: each limit holds (connections per client, messages per connection and per
client and minute, recipients per message), idle clients are dropped, the well-behaved client gets
250 for every message and an answer for every page, serve stays up. Exit code 0 when all hold.
"""

from __future__ import annotations

import selectors
import smtplib
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlmodel import Session, col, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proving_ground as pg  # the helpers beside this script

from mailgate import config
from mailgate.models import Message

# The well-behaved client sends about 120 mails a minute from 127.0.0.1: above the default 30.
TIMEOUTS = "command_seconds = 5\nmax_messages_per_client_minute = 200\n"
WEB = "\n[web]\nrequest_seconds = 5\n"
BLANK = b"From: flood@example.jp\r\nTo: signup@shop.example\r\nSubject: \r\n\r\n"


@dataclass
class Seen:
    """What one abuser saw; `held` the most connections the server held open for it at once."""

    answers: Counter[str] = field(default_factory=Counter)
    admitted: int = 0
    refused: int = 0
    dropped_idle: int = 0
    notes: list[str] = field(default_factory=list)


def connect(port: int, source: str, timeout: float = 15) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return s


def read_all(s: socket.socket, until: float) -> bytes:
    """Everything the server says until it closes or `until` (monotonic) passes."""
    data = b""
    while time.monotonic() < until:
        s.settimeout(max(0.05, until - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (TimeoutError, OSError):
            break
        if not chunk:
            break
        data += chunk
    return data


def codes(data: bytes) -> Counter[str]:
    """Final reply lines by code ("250", "421", ...)."""
    return Counter(line[:3].decode() for line in data.split(b"\r\n") if line[3:4] == b" ")


def pipelining_flood(port: int, source: str, transactions: int, seen: Seen, stop: threading.Event) -> None:
    """Connections writing `transactions` whole transactions at once (each its own mail), reading
    nothing till the end; `notes` the most messages one connection got taken (a 354 to its DATA)."""
    sent = 0
    while not stop.is_set():
        burst = []
        for _ in range(transactions):
            sent += 1
            mail = BLANK.replace(b"\r\n\r\n", f"\r\nMessage-ID: <flood-{sent}@example.jp>\r\n\r\n".encode())
            burst.append(
                b"MAIL FROM:<flood@example.jp>\r\nRCPT TO:<signup@shop.example>\r\nDATA\r\n"
                + mail
                + b"\r\n.\r\n"
            )
        try:
            with connect(port, source) as s:
                s.sendall(b"EHLO flood\r\n" + b"".join(burst) + b"QUIT\r\n")
                got = codes(read_all(s, time.monotonic() + 20))
                seen.answers.update(got)
                seen.admitted = max(seen.admitted, got["354"])
        except OSError as e:
            seen.answers[type(e).__name__] += 1
        stop.wait(0.5)


def many_recipients(port: int, source: str, count: int, seen: Seen, stop: threading.Event) -> None:
    """One transaction naming `count` recipients (the local ones in every case spelling, then others)."""
    rcpts = [
        f"{''.join(c.upper() if (i >> k) & 1 else c for k, c in enumerate('signup'))}@shop.example"
        for i in range(64)
    ]
    rcpts += [f"user{i}@shop.example" for i in range(count - len(rcpts))]
    while not stop.is_set():
        try:
            with connect(port, source) as s:
                lines = b"".join(f"RCPT TO:<{r}>\r\n".encode() for r in rcpts)
                s.sendall(b"EHLO many\r\nMAIL FROM:<many@example.jp>\r\n" + lines + b"RSET\r\nQUIT\r\n")
                data = read_all(s, time.monotonic() + 20)
                got = codes(data)
                seen.answers.update(got)
                # One banner, EHLO, MAIL, RSET, QUIT answer 2xx: the rest of the 250s are recipients.
                seen.notes.append(f"recipients taken in one transaction: {got['250'] - 3}")
        except OSError as e:
            seen.answers[type(e).__name__] += 1
        stop.wait(1.0)


def idle_connections(port: int, source: str, count: int, seen: Seen, refusal: bytes) -> None:
    """`count` connections opened at once and never written to: how many were let in (all but those
    answered `refusal` at once: SMTP 421, HTTP 503), and whether the server closes the idle ones."""
    socks = []
    for _ in range(count):
        try:
            socks.append(connect(port, source))
        except OSError:
            seen.refused += 1
    # The server must end each: refused at once, or let in and dropped after its command or request
    # timeout (5 s here); the deadline leaves room for a busy machine.
    said = listen(socks, time.monotonic() + 30)
    for s in socks:
        text, closed = said[s]
        if text.startswith(refusal):
            seen.refused += 1
        else:
            seen.admitted += 1
            seen.dropped_idle += closed
        s.close()


def listen(socks: list[socket.socket], until: float) -> dict[socket.socket, tuple[bytes, bool]]:
    """(what each socket said, whether the server closed it) by `until`, or once all are closed."""
    got = {s: (b"", False) for s in socks}
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        while sel.get_map() and time.monotonic() < until:
            for key, _ in sel.select(timeout=max(0.01, until - time.monotonic())):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                try:
                    chunk = s.recv(4096)
                except OSError:
                    chunk = b""
                said, _ = got[s]
                got[s] = (said + chunk, not chunk)
                if not chunk:
                    sel.unregister(s)
    return got


def slow_writer(port: int, source: str, payload: bytes, seen: Seen, stop: threading.Event) -> None:
    """Writes a byte every half second: the connection must end (timeout or limit), not hang forever."""
    try:
        with connect(port, source, timeout=60) as s:
            for byte in payload:
                if stop.is_set():
                    return
                s.sendall(bytes([byte]))
                time.sleep(0.5)
            seen.answers.update(codes(read_all(s, time.monotonic() + 10)))
    except OSError as e:
        seen.answers[type(e).__name__] += 1


def http_flood(port: int, source: str, seen: Seen, stop: threading.Event) -> None:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=15) as http:
        while not stop.is_set():
            try:
                seen.answers[str(http.get(f"http://127.0.0.1:{port}/healthz").status_code)] += 1
            except httpx.HTTPError as e:
                seen.answers[type(e).__name__] += 1


@dataclass
class Good:
    """The well-behaved client: a signup mail and two pages every quarter second; a mail whose
    connection dropped is sent again (up to three tries)."""

    mails: int = 0
    acked: int = 0
    pages: int = 0
    answered: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # what went wrong, before a retry too
    retried: int = 0
    slowest: float = 0.0

    def run(self, smtp_port: int, http_port: int, stop: threading.Event) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                began = time.monotonic()
                self.mails += 1
                addr = f"good{self.mails}@example.jp"
                raw = f"From: {addr}\r\nTo: {pg.SIGNUP}\r\nMessage-ID: <good-{self.mails}@example.jp>\r\n\r\n"
                for attempt in range(3):  # as an MTA would retry a dropped connection, at once here
                    try:
                        pg.smtp_send(smtp_port, addr, pg.SIGNUP, raw.encode())
                        self.acked += 1
                        break
                    except (OSError, smtplib.SMTPException) as e:
                        self.failures[f"smtp {str(e)[:60]}"] += 1
                        self.retried += attempt < 2
                for path in ("/healthz", "/"):
                    self.pages += 1
                    try:
                        status = http.get(f"http://127.0.0.1:{http_port}{path}").status_code
                        if status < 500:
                            self.answered += 1
                        else:
                            self.failures[f"http {status}"] += 1
                    except httpx.HTTPError as e:
                        self.failures[f"http {type(e).__name__}"] += 1
                self.slowest = max(self.slowest, time.monotonic() - began)
                stop.wait(0.25)


def abuse(directory: Path, *, seconds: float = 30, scale: int = 1) -> pg.Report:
    """The run in a fresh shop in `directory`: (figures, problems). `scale` multiplies the abuse."""
    cfg_path = pg.write_shop(directory, smtp=f"\n[smtp]\n{TIMEOUTS}{WEB}", mail="")
    cfg = config.load(cfg_path)
    smtp, web = cfg.raw.smtp, cfg.raw.web
    serve = pg.Serve(cfg_path)
    serve.start()
    stop = threading.Event()
    seen = {
        name: Seen()
        for name in ("flood", "rcpts", "idle smtp", "slow smtp", "idle http", "slow http", "http flood")
    }
    good = Good()
    jobs: list[tuple[str, Callable[[], None]]] = [
        ("flood", lambda: pipelining_flood(serve.smtp_port, "127.0.0.2", 1000 * scale, seen["flood"], stop)),
        ("rcpts", lambda: many_recipients(serve.smtp_port, "127.0.0.3", 3000 * scale, seen["rcpts"], stop)),
        (
            "idle smtp",
            lambda: idle_connections(
                serve.smtp_port,
                "127.0.0.4",
                smtp.max_connections_per_client + 20,
                seen["idle smtp"],
                b"421",
            ),
        ),
        (
            "idle http",
            lambda: idle_connections(
                serve.http_port,
                "127.0.0.6",
                web.max_connections_per_client + 20,
                seen["idle http"],
                b"HTTP/1.1 503",
            ),
        ),
        ("http flood", lambda: http_flood(serve.http_port, "127.0.0.8", seen["http flood"], stop)),
    ]
    jobs += [
        (
            "slow smtp",
            lambda: slow_writer(serve.smtp_port, "127.0.0.5", b"EHLO slow\r\n" * 4, seen["slow smtp"], stop),
        )
    ] * 5
    jobs += [
        (
            "slow http",
            lambda: slow_writer(
                serve.http_port,
                "127.0.0.7",
                b"GET / HTTP/1.1\r\nHost: x\r\nX-a: " + b"a" * 40,
                seen["slow http"],
                stop,
            ),
        )
    ] * 5
    threads = [threading.Thread(target=job, daemon=True, name=name) for name, job in jobs]
    threads.append(
        threading.Thread(target=good.run, args=(serve.smtp_port, serve.http_port, stop), daemon=True)
    )
    began = time.monotonic()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    alive = serve.alive
    code = serve.stop()
    minutes = (time.monotonic() - began) / 60
    engine = pg.engine_of(cfg_path)
    with Session(engine) as s:
        per_client = dict(s.exec(select(Message.client, func.count()).group_by(col(Message.client))).all())
    engine.dispose()
    problems = (
        [] if alive and code == 0 else [f"serve alive at the end: {alive}, exit code on SIGTERM {code}"]
    )
    if seen["flood"].admitted > smtp.max_messages_per_connection:
        problems.append(f"{seen['flood'].admitted} messages in one connection, over the limit")
    flooded = per_client.get("127.0.0.2", 0)
    allowed = smtp.max_messages_per_client_minute * (int(minutes) + 1)
    if flooded > allowed:
        problems.append(f"the flood stored {flooded} messages, over {allowed} in {minutes:.1f} min")
    taken = [int(n.rpartition(" ")[2]) for n in seen["rcpts"].notes]
    if any(t > smtp.max_recipients for t in taken):
        problems.append(f"more than {smtp.max_recipients} recipients in one transaction: {max(taken)}")
    for name, cap in (
        ("idle smtp", smtp.max_connections_per_client),
        ("idle http", web.max_connections_per_client),
    ):
        if seen[name].admitted > cap:
            problems.append(f"{name}: {seen[name].admitted} connections let in from one address, cap {cap}")
        if seen[name].dropped_idle < seen[name].admitted:
            problems.append(
                f"{name}: {seen[name].admitted - seen[name].dropped_idle} idle connections never closed"
            )
    if good.acked != good.mails or good.answered != good.pages:  # a mail not taken in three tries
        problems.append(f"the well-behaved client was not served: {dict(good.failures)}")
    figures: dict[str, object] = {
        "seconds of abuse": round(seconds, 1),
        "well-behaved: mails 250 / sent": f"{good.acked} / {good.mails}",
        "well-behaved: pages answered / asked": f"{good.answered} / {good.pages}",
        "well-behaved: mails sent again (connection dropped)": f"{good.retried} {dict(good.failures)}",
        "well-behaved: slowest round (s)": round(good.slowest, 2),
        "stored per client address": per_client,
        "pipelining flood: answers": dict(seen["flood"].answers),
        "pipelining flood: most messages in one connection": seen["flood"].admitted,
        "RCPT flood: most recipients taken": max(taken, default=0),
        "RCPT flood: answers": dict(seen["rcpts"].answers.most_common(4)),
        "idle SMTP: let in / refused / closed by server": _idle(seen["idle smtp"]),
        "idle HTTP: let in / refused / closed by server": _idle(seen["idle http"]),
        "slow SMTP writers: answers": dict(seen["slow smtp"].answers),
        "slow HTTP writers: answers": dict(seen["slow http"].answers),
        "HTTP flood: answers": dict(seen["http flood"].answers),
        "tracebacks in the server log": serve.log_text().count("Traceback"),
    }
    if figures["tracebacks in the server log"]:
        problems.append(f"tracebacks in {serve.log_path}")
    return pg.Report(figures, problems)


def _idle(seen: Seen) -> str:
    return f"{seen.admitted} / {seen.refused} / {seen.dropped_idle}"


def main() -> int:
    parser = pg.arguments(__doc__, seconds=30)
    parser.add_argument("--scale", type=int, default=1, help="multiply the floods")
    args = parser.parse_args()
    where = pg.directory(args, "mailgate-abuse-")
    report = abuse(where, seconds=args.seconds, scale=args.scale)
    return pg.finish("SMTP and HTTP abuse", where, report, keep=bool(args.dir))


if __name__ == "__main__":
    sys.exit(main())
