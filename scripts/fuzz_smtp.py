"""Hostile mail at volume: mails built from the sample corpus and mutated by hypothesis, sent over SMTP
to a `mailgate serve` this script starts, and what the server must hold to meanwhile.

    .venv/bin/python scripts/fuzz_smtp.py                          # 10,000 mails
    .venv/bin/python scripts/fuzz_smtp.py --count 300 --seed 3

Mutations (any number of them on one mail): broken MIME boundaries, lying charsets, 8-bit and NUL
bytes in headers, huge headers, deep nesting, base64 garbage, lone CRs, very long decoded lines,
garbage encoded words, flipped bytes. The server runs with `[mail] read_cpu_seconds = 1`, so a mail
that takes more than a second of CPU to read fails with that reason, and the check finds it.

Checks: serve is up after every mail; every mail that got 250 is stored and, once the worker is done,
in a final state; no traceback in the server log or on a message; peak RSS (VmHWM) of serve and of
its reader child under --max-rss-mb; no mail over a second of CPU. Exit code 0 when all hold.
"""

from __future__ import annotations

import base64
import contextlib
import random
import re
import smtplib
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proving_ground as pg  # the helpers beside this script

from mailgate.inbound.store import dedupe_key
from mailgate.models import Message, MessageState

CORPUS_MAILS = sorted(pg.CORPUS.glob("*/*.eml"))

Mutation = Callable[[bytes, random.Random], bytes]


def _split(raw: bytes) -> tuple[bytes, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    return (head, body) if sep else (raw, b"")


def _join(head: bytes, body: bytes) -> bytes:
    return head + b"\r\n\r\n" + body


def broken_boundary(raw: bytes, r: random.Random) -> bytes:
    """The boundary the header names is not the one the body uses, or the closing one is cut off."""
    head, body = _split(raw)
    if r.random() < 0.5:
        head += b'\r\nContent-Type: multipart/mixed; boundary="' + b"=" * r.randrange(0, 80) + b'"'
        return _join(head, body.replace(b"--", b"-", r.randrange(1, 5)))
    return _join(head, b"\r\n".join(line for line in body.split(b"\r\n") if not line.endswith(b"--")))


def lying_charset(raw: bytes, r: random.Random) -> bytes:
    charset = r.choice(
        [b"iso-2022-jp", b"utf-7", b"utf-16", b"x-unknown-8", b"shift_jis", b"euc-jp", b"ascii"]
    )
    head, body = _split(raw)
    head = head.replace(b"charset=", b"charset=" + charset + b";x=")
    head += b"\r\nContent-Type: text/plain; charset=" + charset
    return _join(head, body + bytes(r.randrange(256) for _ in range(r.randrange(0, 200))))


def bytes_in_headers(raw: bytes, r: random.Random) -> bytes:
    junk = bytes(r.choice([0, 0x80, 0xFF, 0x1B, 0xE3, r.randrange(256)]) for _ in range(r.randrange(1, 64)))
    name = r.choice([b"Subject", b"From", b"To", b"Message-ID", b"Content-Type", b"Date"])
    head, body = _split(raw)
    return _join(head + b"\r\n" + name + b": " + junk, body)


def huge_header(raw: bytes, r: random.Random) -> bytes:
    head, body = _split(raw)
    if r.random() < 0.5:  # one header of many folded lines
        folded = b"\r\n ".join([b"x" * 70] * r.randrange(100, 5_000))
        return _join(head + b"\r\nSubject: " + folded, body)
    many = b"".join(b"\r\nX-H%d: %s" % (i, b"v" * r.randrange(1, 60)) for i in range(r.randrange(100, 5_000)))
    return _join(head + many, body)


def deep_nesting(raw: bytes, r: random.Random) -> bytes:
    head, body = _split(raw)
    depth = r.randrange(10, 400)
    kind = r.choice([b"multipart/mixed", b"message/rfc822"])
    parts = []
    for i in range(depth):
        if kind == b"message/rfc822":
            parts.append(b"Content-Type: message/rfc822\r\n\r\n")
        else:
            parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    closing = (
        b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth))) if kind != b"message/rfc822" else b""
    )
    return _join(
        head + b"\r\nMIME-Version: 1.0\r\n" + parts[0].rstrip(b"\r\n"), b"".join(parts[1:]) + body + closing
    )


def base64_garbage(raw: bytes, r: random.Random) -> bytes:
    head, _ = _split(raw)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!*\x00\xff "
    lines = [
        bytes(r.choice(alphabet) for _ in range(r.randrange(1, 76))) for _ in range(r.randrange(1, 2000))
    ]
    head += b"\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain; charset=utf-8"
    return _join(head, b"\r\n".join(lines))


def lone_crs(raw: bytes, r: random.Random) -> bytes:
    out = bytearray(raw)
    for _ in range(r.randrange(1, 50)):
        out.insert(r.randrange(len(out) + 1), 0x0D)
    return bytes(out).replace(b"\r\n", b"\r", r.randrange(0, 20))


def long_decoded_line(raw: bytes, r: random.Random) -> bytes:
    """Short lines on the wire, one line of up to 900 kB once decoded (base64 or quoted-printable)."""
    head, _ = _split(raw)
    text = r.choice(["あ", "-", "a", "予約 ", "\u3000"]) * r.randrange(10_000, 300_000)
    data = text.encode("utf-8")
    if r.random() < 0.5:
        body = base64.encodebytes(data).replace(b"\n", b"\r\n")
        cte = b"base64"
    else:
        import quopri

        body = quopri.encodestring(data).replace(b"\n", b"\r\n")
        cte = b"quoted-printable"
    head += b"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: " + cte
    return _join(head, body)


def encoded_word_garbage(raw: bytes, r: random.Random) -> bytes:
    words = [b"=?utf-8?b?" + base64.b64encode(bytes(r.randrange(256) for _ in range(20))) + b"?="]
    words += [
        b"=?iso-2022-jp?q?=1B$B" + b"=%02X" % r.randrange(256) * 30 + b"?=",
        b"=?x?y?z?=",
        b"=?utf-8?q?",
    ]
    head, body = _split(raw)
    return _join(
        head + b"\r\nSubject: " + b" ".join(r.choice(words) for _ in range(r.randrange(1, 300))), body
    )


def flipped_bytes(raw: bytes, r: random.Random) -> bytes:
    out = bytearray(raw)
    for _ in range(r.randrange(1, 30)):
        if out:
            out[r.randrange(len(out))] = r.randrange(256)
    return bytes(out)


MUTATIONS: list[Mutation] = [
    broken_boundary,
    lying_charset,
    bytes_in_headers,
    huge_header,
    deep_nesting,
    base64_garbage,
    lone_crs,
    long_decoded_line,
    encoded_word_garbage,
    flipped_bytes,
]


@st.composite
def hostile_mails(draw: st.DrawFn) -> tuple[str, list[str], bytes]:
    """(corpus file, mutations applied, the mail)."""
    source = draw(st.sampled_from(CORPUS_MAILS))
    chosen = draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3))
    r = random.Random(draw(st.integers(0, 2**32)))
    raw = source.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    for mutate in chosen:
        raw = mutate(raw, r)
    return source.name, [m.__name__ for m in chosen], raw


@dataclass
class Tally:
    """What was sent and what the server said."""

    sent: int = 0
    acked: dict[int, str] = field(default_factory=dict)  # the dedupe key of each mail that got 250, by N
    raws: dict[int, bytes] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)  # reply codes
    mutations: Counter[str] = field(default_factory=Counter)
    dead: str = ""  # set when the server was found down

    def send(self, port: int, rcpt: str, raw: bytes) -> None:
        """One mail in one connection, from its own envelope sender (fuzz-N@example.jp)."""
        self.sent += 1
        raw += b"" if raw.endswith(b"\r\n") else b"\r\n"  # as the server has it: the key is on that
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as s:
                s.ehlo()
                for code, text in (s.mail(f"fuzz-{self.sent}@example.jp"), s.rcpt(rcpt)):
                    if code != 250:
                        raise smtplib.SMTPResponseException(code, text)
                code, text = data_as_is(s, raw)
            self.answers[str(code)] += 1
            if code == 250:
                self.acked[self.sent] = dedupe_key(raw)[0]
                self.raws[self.sent] = raw
        except smtplib.SMTPResponseException as e:
            self.answers[str(e.smtp_code)] += 1
        except (OSError, smtplib.SMTPException) as e:
            self.answers[type(e).__name__] += 1


def data_as_is(s: smtplib.SMTP, raw: bytes) -> tuple[int, bytes]:
    """DATA with the bytes as they are (ending in CRLF): smtplib's own would turn lone CRs and LFs
    into CRLF."""
    code, text = s.docmd("DATA")
    if code != 354:
        return code, text
    stuffed = re.sub(rb"(?:^|(?<=\r\n))\.", b"..", raw)
    s.send(stuffed + b".\r\n")
    return s.getreply()


def children(pid: int) -> dict[str, int]:
    """serve's child processes by role: the readers of stored mail and intake's writer."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    named = {}
    for p in found:
        with contextlib.suppress(OSError):
            role = "writer" if b"inbound.writer" in Path(f"/proc/{p}/cmdline").read_bytes() else "reader"
            named[f"{role} {p}"] = p
    return named


def reader_pids(pid: int) -> list[int]:
    return [p for name, p in children(pid).items() if name.startswith("reader")]


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far (0 when gone)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fuzz(
    directory: Path, *, count: int, seed: int, cpu: int = 1, max_rss_mb: int = 512, seconds: float = 3600
) -> pg.Report:
    """`count` hostile mails into a fresh shop in `directory`; the reader stopped past `cpu` seconds."""
    cfg = pg.write_shop(directory, mail=f"read_cpu_seconds = {cpu}\n")
    serve = pg.Serve(cfg)
    serve.start()
    tally = Tally()
    peaks: dict[str, int] = {}
    began = time.monotonic()
    deadline = began + seconds

    def watch() -> None:
        pids = {"serve": serve.pid} | children(serve.pid)
        for name, p in pids.items():
            peaks[name] = max(peaks.get(name, 0), pg.vm_kib(p, "VmHWM"))

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # every example a new mail; nothing to shrink (the checks come after)
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_mails(), st.sampled_from([pg.SIGNUP, pg.NOTICES]))
    def one(mail: tuple[str, list[str], bytes], rcpt: str) -> None:
        if tally.dead or time.monotonic() > deadline:
            return
        _, mutations, raw = mail
        tally.mutations.update(mutations)
        tally.send(serve.smtp_port, rcpt, raw)
        if tally.sent % 50 == 0:
            watch()
        if not serve.alive:
            tally.dead = (
                f"serve exited ({serve.proc.returncode if serve.proc else '?'}) after {tally.sent} mails"
            )

    try:
        one()
        sending = time.monotonic() - began
        engine = pg.engine_of(cfg)
        problems = [tally.dead] if tally.dead else []
        try:
            pg.wait_until(
                lambda: (watch(), pg.settled(engine, True))[1], max(60.0, deadline - time.monotonic())
            )
        except TimeoutError as e:
            problems.append(f"the worker did not finish: {e}")
        watch()
        reader_cpu = sum(cpu_seconds(p) for p in reader_pids(serve.pid))
        serve_cpu = cpu_seconds(serve.pid)
        code = serve.stop()
        if code != 0:
            problems.append(f"serve exited {code} on SIGTERM")
        with Session(engine) as s:
            messages = list(s.exec(select(Message)))
        engine.dispose()
    finally:
        if serve.alive:
            serve.kill()
    # Stored under its own envelope sender, or taken for a redelivery of one stored (the same
    # Message-ID and body: a mutation of headers only is "the same mail").
    senders, keys = {m.mail_from for m in messages}, {m.dedupe_key for m in messages}
    missing = [n for n, k in tally.acked.items() if f"fuzz-{n}@example.jp" not in senders and k not in keys]
    if missing:
        for n in missing:  # kept for a look
            (directory / f"missing-{n}.eml").write_bytes(tally.raws[n])
        problems.append(f"{len(missing)} mails got 250 and are not stored: {missing[:10]} (in {directory})")
    unfinished = [m.id for m in messages if m.state not in (*MessageState.FINAL, MessageState.DEFERRED)]
    if unfinished:
        problems.append(f"{len(unfinished)} messages not in a final state: {unfinished[:10]}")
    with_traceback = [m.id for m in messages if m.traceback]
    if with_traceback:
        problems.append(f"{len(with_traceback)} messages failed with a traceback: {with_traceback[:10]}")
    over_cpu = [m.id for m in messages if "of CPU" in m.reason]
    if over_cpu:
        problems.append(f"{len(over_cpu)} messages took more than {cpu} s of CPU: {over_cpu[:10]}")
    log_tracebacks = serve.log_text().count("Traceback")
    if log_tracebacks:
        problems.append(f"{log_tracebacks} tracebacks in {serve.log_path}")
    peak_mb = max(peaks.values(), default=0) // 1024
    if peak_mb > max_rss_mb:
        problems.append(f"peak RSS {peak_mb} MB over {max_rss_mb} MB: {peaks}")
    figures: dict[str, object] = {
        "mails sent": tally.sent,
        "answers": dict(tally.answers.most_common()),
        "mails stored (the same mail twice: once)": len(messages),
        "states": dict(Counter(m.state for m in messages)),
        "mutations applied": dict(tally.mutations.most_common()),
        "peak RSS MB (serve, readers, writer)": {k: v // 1024 for k, v in peaks.items()},
        "CPU s serve / reader (per mail, ms)": f"{serve_cpu:.1f} / {reader_cpu:.1f} "
        f"({1000 * serve_cpu / max(tally.sent, 1):.1f} / {1000 * reader_cpu / max(len(messages), 1):.1f})",
        "seconds sending / in all": f"{sending:.1f} / {time.monotonic() - began:.1f}",
        f"over {cpu} s of CPU": len(over_cpu),
        "tracebacks (log, messages)": f"{log_tracebacks}, {len(with_traceback)}",
    }
    return pg.Report(figures, problems)


def main() -> int:
    parser = pg.arguments(__doc__, seconds=3600)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=1, help="[mail] read_cpu_seconds: a read stopped past it")
    parser.add_argument("--max-rss-mb", type=int, default=512)
    args = parser.parse_args()
    where = pg.directory(args, "mailgate-fuzz-")
    report = fuzz(
        where,
        count=args.count,
        seed=args.seed,
        cpu=args.cpu,
        max_rss_mb=args.max_rss_mb,
        seconds=args.seconds,
    )
    return pg.finish(f"SMTP fuzz, seed {args.seed}", where, report, keep=bool(args.dir))


if __name__ == "__main__":
    sys.exit(main())
