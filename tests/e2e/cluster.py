"""Several `mailgate serve` nodes of one shop on one PostgreSQL, and what watches them: a recording
relay that all of them send through, and a sampler of who holds the mailbox lock."""

from __future__ import annotations

import asyncio
import email
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.policy import compat32
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from mailgate import db
from tests.conftest import CORPUS, Served, start_serve, write_config
from tests.dovecot import Dovecot
from tests.outbound.servers import Recorder, serving

IMAP_PASSWORD_ENV = "MAILGATE_TEST_IMAP_PW"
# Each alert in its own mail (no grouping per interval): the check counts one alert per clash.
SHOP = """staff_alerts = ["staff@shop.example"]
staff_alert_minutes = 0
[[shop.staff]]
name = "佐藤"
[[shop.staff]]
name = "田中"
[shop.hours]
mon = "10:00-20:00"
tue = "10:00-20:00"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "10:00-20:00"
sun = "10:00-20:00"
"""


def node_config(directory: Path, db_url: str, dc: Dovecot, relay_port: int) -> Path:
    """One node's mailgate.toml: its own directory and var/, everything else shared."""
    extra = (
        f'\n[authn]\ndns_overrides = "{CORPUS / "keys" / "dns.json"}"\n'
        'trusted_forwarders = ["uketsuke@salon-mail.example"]\n'
        f'\n[imap]\nhost = "{dc.host}"\nport = {dc.port}\nsecurity = "none"\nusername = "{dc.user}"\n'
        f'password_env = "{IMAP_PASSWORD_ENV}"\nidle_seconds = 5\n'
        f'\n[outbound]\nrelay = "smtp://127.0.0.1:{relay_port}"\n'
        # All the stream comes from 127.0.0.1: a load test sets the limits it needs.
        "\n[smtp]\nmax_messages_per_client_minute = 10000\n"
    )
    # A load test: every blank mail comes from 127.0.0.1, more than the per-client defaults allow.
    mail = "replies_per_client_hour = 1000\nnew_customers_per_client_hour = 1000"
    return write_config(directory, extra, db_url=db_url, shop=SHOP, mail=mail)


@dataclass
class Node:
    """A `mailgate serve` whose log is read as it comes (a full pipe would stop it). Its database
    sessions carry `app` as application_name, so pg_stat_activity tells the nodes apart."""

    app: str
    served: Served
    log: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, app: str, config: Path, env: dict[str, str]) -> Node:
        node = cls(app, start_serve(config, env={**env, "PGAPPNAME": app}))
        node._reader = threading.Thread(target=node._read_log, daemon=True)
        node._reader.start()
        return node

    def _read_log(self) -> None:
        assert self.served.proc.stderr is not None
        for line in self.served.proc.stderr:
            self.log.append(line)

    @property
    def alive(self) -> bool:
        return self.served.proc.poll() is None

    def lines(self, text: str) -> list[str]:
        return [line for line in self.log if text in line]

    def kill(self) -> None:
        self.served.stop(signal.SIGKILL)
        self._log_read()

    def stop(self) -> int:
        """SIGTERM; its exit code (a node that does not stop in time is killed: -9)."""
        try:
            code = self.served.stop()
        except subprocess.TimeoutExpired:
            self.kill()
            code = -signal.SIGKILL
        self._log_read()
        return code

    def _log_read(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=10)


class HeldRecorder(Recorder):
    """Takes each mail, then answers 250 only while open: a sender can be caught between the
    relay having its mail and the sender having heard so."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.open.set()
        self.holding: set[str] = set()  # Message-IDs taken, their 250 not yet answered

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        msgid = message_id(envelope.original_content or b"")
        self.holding.add(msgid)
        while not self.open.is_set():
            await asyncio.sleep(0.02)
        self.holding.discard(msgid)
        return reply


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=compat32)["Message-ID"]).strip("<>")


@dataclass
class Relay:
    """The relay every node sends through: keeps each envelope with its message."""

    port: int
    recorder: HeldRecorder

    def deliveries(self) -> list[tuple[str, str, bytes]]:
        """(recipient, Message-ID, raw) for every recipient of every mail it took."""
        out = []
        for env in list(self.recorder.envelopes):
            raw = env.original_content or b""
            out += [(rcpt, message_id(raw), raw) for rcpt in env.rcpt_tos]
        return out

    def copies(self) -> Counter[str]:
        """How many times each Message-ID was delivered."""
        return Counter(msgid for _, msgid, _ in self.deliveries())

    @contextmanager
    def answering_later(self) -> Iterator[set[str]]:
        """Hold every 250 until the block ends; yields the Message-IDs being held."""
        self.recorder.open.clear()
        try:
            yield self.recorder.holding
        finally:
            self.recorder.open.set()


@contextmanager
def recording_relay() -> Iterator[Relay]:
    running = serving(HeldRecorder())
    recorder, port = next(running)
    assert isinstance(recorder, HeldRecorder)
    try:
        yield Relay(port, recorder)
    finally:
        running.close()


class LockWatch:
    """Samples, every `interval` seconds, which nodes hold the session advisory lock named `name`
    (the one `mailgate.locks` takes): `holders` is every sample's application names."""

    def __init__(self, db_url: str, name: str, interval: float = 0.1) -> None:
        key = db.lock_number(name) & 0xFFFF_FFFF_FFFF_FFFF
        # pg_locks shows a bigint key as classid (high 32 bits) and objid (low 32 bits).
        self._key = {"hi": key >> 32, "lo": key & 0xFFFF_FFFF}
        self._engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.holders: list[tuple[str, ...]] = []

    def _run(self) -> None:
        query = sa.text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
        )
        with self._engine.connect() as c:
            while not self._stop.wait(self._interval):
                self.holders.append(tuple(sorted(c.execute(query, self._key).scalars())))
                c.rollback()

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._engine.dispose()

    def now(self) -> tuple[str, ...]:
        """The latest sample (after at least one)."""
        seen = len(self.holders)
        while len(self.holders) == seen and self._thread.is_alive():
            self._stop.wait(self._interval / 2)
        return self.holders[-1]
