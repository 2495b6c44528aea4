"""IMAP intake: read one folder, store each message, then flag or move it. Never delete.

Messages are fetched with BODY.PEEK[] (nothing turns \\Seen before it is stored) and stored exactly
like SMTP mail (same dedupe key). Only after the store has committed is the message flagged or moved
and the folder's last UID advanced in the database, so a crash in between means the message is read
again and recognised as a duplicate: it is never stored, or processed, twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from mailgate import locks
from mailgate.config import Config
from mailgate.db import transaction
from mailgate.inbound.imap_session import ImapError, connect, mailbox_key, problem, section, shutdown
from mailgate.inbound.store import store
from mailgate.models import ImapState, utcnow

log = logging.getLogger("mailgate.imap")
# imapclient says "Connection closed" at INFO on every reconnect: keep our log one line per problem.
logging.getLogger("imapclient").setLevel(logging.WARNING)

BATCH_COUNT = 20  # messages per FETCH BODY.PEEK[] ...
BATCH_BYTES = 8 * 1024 * 1024  # ... and at most this much of them in memory at once
BACKOFF_MIN, BACKOFF_MAX = 1.0, 300.0
STOP_CHECK = 1.0  # seconds between looks at the stop flag while in IDLE
STANDBY_SECONDS = 5.0  # how often a standing-by node looks whether the mailbox is free


@dataclass(frozen=True)
class PassResult:
    stored: int = 0  # newly stored
    duplicates: int = 0  # already stored: a redelivery, or a crash before the flag last time
    too_big: int = 0  # over [mail] max_size: left in the mailbox for a person

    def __add__(self, other: PassResult) -> PassResult:
        return PassResult(
            self.stored + other.stored, self.duplicates + other.duplicates, self.too_big + other.too_big
        )


class Poller:
    """One connection kept between passes; any error closes it and the next pass reconnects."""

    def __init__(self, cfg: Config, engine: Engine) -> None:
        self.cfg = cfg
        self.engine = engine
        self.im = section(cfg)
        self.key = mailbox_key(self.im)
        self.client: IMAPClient | None = None
        self._warned_flag = False

    def run_pass(self) -> PassResult:
        """Store everything new in the folder; flag or move each message after it is stored."""
        if self.client is None:
            self.client = connect(self.cfg)
            if self.im.after == "move" and self.im.move_to and not self.client.folder_exists(self.im.move_to):
                self.client.create_folder(self.im.move_to)
        client = self.client
        info = client.select_folder(self.im.folder)
        _take_exists(client)  # the count SELECT reports is not news; one announced from here on is
        uidvalidity = int(info[b"UIDVALIDITY"])
        last = _start(self.engine, self.key, uidvalidity)
        can_flag = self._can_flag(info)
        criteria: list[str] = ["UID", f"{last + 1}:*"]
        if can_flag and not self.im.flag.startswith("\\"):
            # Only our own keyword: a person may read (\Seen) or flag a notice before we see it.
            criteria += ["UNKEYWORD", self.im.flag]
        # "N:*" always matches the highest UID, even when it is below N.
        uids = sorted(u for u in client.search(criteria) if u > last)
        result = PassResult()
        for batch in _chunks(uids, BATCH_COUNT):
            result += self._take(batch, uidvalidity, can_flag)
        if result.stored or result.duplicates:
            log.info("imap %s: stored %s, already stored %s", self.key, result.stored, result.duplicates)
        return result

    def _take(self, batch: list[int], uidvalidity: int, can_flag: bool) -> PassResult:
        """Fetch, store, then mark each message and advance the last UID, in UID order."""
        assert self.client is not None
        max_size = self.cfg.mail.max_size
        fetched = self.client.fetch(batch, ["RFC822.SIZE"])
        sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in fetched.items()}
        stored = duplicates = 0
        for group in _by_size(batch, sizes, max_size):
            bodies = self.client.fetch(group, ["BODY.PEEK[]"])
            for uid in group:
                raw = bodies.get(uid, {}).get(b"BODY[]")
                if raw is None:  # expunged by someone else meanwhile
                    continue
                done = store(self.engine, self.cfg.spool_dir, raw, [self._rcpt], mail_from=None, via="imap")
                stored += bool(done.ids)
                duplicates += not done.ids
                self._mark(uid, can_flag)
                _advance(self.engine, self.key, uidvalidity, uid)
        too_big = [uid for uid in batch if sizes.get(uid, 0) > max_size]
        for uid in too_big:
            log.warning(
                "imap %s: UID %s is %s bytes, over [mail] max_size: left in the mailbox, not stored",
                self.key,
                uid,
                sizes[uid],
            )
            _advance(self.engine, self.key, uidvalidity, uid)
        return PassResult(stored=stored, duplicates=duplicates, too_big=len(too_big))

    def wait(self, stop: threading.Event) -> None:
        """IDLE until new mail, stop, or idle_seconds; without IDLE just wait (periodic polling)."""
        client = self.client
        if client is not None and _take_exists(client):
            return  # mail arrived during the pass, announced then: IDLE would not announce it again
        if client is None or not client.has_capability("IDLE"):
            stop.wait(self.im.idle_seconds)
            return
        deadline = time.monotonic() + self.im.idle_seconds
        client.idle()
        try:
            while not stop.is_set():
                step = min(deadline - time.monotonic(), STOP_CHECK)
                if step <= 0:
                    return
                began = time.monotonic()
                responses = client.idle_check(timeout=step)
                if any(_is_news(r) for r in responses):
                    return
                if not responses and time.monotonic() - began < step / 2:
                    return  # readable yet nothing to parse: probably hung up; idle_done() will say
        finally:
            client.idle_done()

    def hold(self) -> locks.Held | None:
        """The mailbox to ourselves, or None when another process polls it."""
        return locks.try_hold(self.engine, self.cfg.var_dir / "locks", f"imap:{self.key}")

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            shutdown(client)

    @property
    def _rcpt(self) -> str:
        return self.im.rcpt or self.cfg.mail.notices

    def _can_flag(self, info: dict[bytes, Any]) -> bool:
        permanent = info.get(b"PERMANENTFLAGS")  # absent: every flag is permanent (RFC 3501)
        ok = permanent is None or bool(
            {b"\\*", self.im.flag.lower().encode()} & {f.lower() for f in permanent}
        )
        if not ok and not self._warned_flag:
            self._warned_flag = True
            log.warning(
                "imap %s: the server does not keep the flag %s; relying on the remembered UID "
                '(Microsoft 365 keeps no keywords: use flag = "\\\\Flagged" or after = "move")',
                self.key,
                self.im.flag,
            )
        return ok

    def _mark(self, uid: int, can_flag: bool) -> None:
        assert self.client is not None
        if can_flag:  # also before a move: the moved copy shows it was stored
            self.client.add_flags([uid], [self.im.flag], silent=True)
        if self.im.after == "move" and self.im.move_to:
            if self.client.has_capability("MOVE"):
                self.client.move([uid], self.im.move_to)
            else:  # COPY alone: never \Deleted; the flag and the last UID keep it from being read again
                self.client.copy([uid], self.im.move_to)


def poll_once(cfg: Config, engine: Engine) -> PassResult:
    """One pass on a connection of its own (`mailgate poll --once`), unless another process is
    polling the mailbox right now."""
    poller = Poller(cfg, engine)
    held = poller.hold()
    if held is None:
        raise ImapError(f"another mailgate is polling {poller.key} right now: nothing to do")
    try:
        return poller.run_pass()
    finally:
        poller.close()
        held.release()


def poll_forever(
    cfg: Config,
    engine: Engine,
    stop: threading.Event,
    on_stored: Callable[[PassResult], None] | None = None,
) -> None:
    """Pass, IDLE, pass, ... until stop is set; reconnect with backoff on any problem.

    One process polls a mailbox at a time, however many nodes run: the others stand by and take
    over when its lock goes (the process or its database connection died). on_stored runs in this
    thread after a pass that stored something.
    """
    poller = Poller(cfg, engine)
    delay = BACKOFF_MIN
    held: locks.Held | None = None
    standing_by = False
    try:
        while not stop.is_set():
            try:
                if held is None or not held.alive():
                    if held is not None:
                        log.warning("imap %s: lost the mailbox lock; closing and trying again", poller.key)
                        poller.close()
                        held.release()
                    held = poller.hold()
                    if held is None:
                        if not standing_by:
                            log.info("imap %s: another node polls this mailbox; standing by", poller.key)
                        standing_by = True
                        stop.wait(STANDBY_SECONDS)
                        continue
                    if standing_by:
                        log.info("imap %s: the mailbox is free; polling it from here", poller.key)
                    standing_by = False
                result = poller.run_pass()
                if result.stored and on_stored is not None:
                    on_stored(result)
                delay = BACKOFF_MIN
                poller.wait(stop)
            except Exception as e:  # network, server, database: one line, then try again
                poller.close()
                log.warning("imap %s: %s; retrying in %.0f s", poller.key, problem(e), delay)
                stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)
    finally:
        poller.close()
        if held is not None:
            held.release()


async def run(
    cfg: Config,
    engine: Engine,
    stop: asyncio.Event,
    on_stored: Callable[[PassResult], None] | None = None,
) -> None:
    """poll_forever in a thread (imapclient blocks) until stop is set; for `mailgate serve`."""
    halt = threading.Event()

    async def relay_stop() -> None:
        await stop.wait()
        halt.set()

    relay = asyncio.create_task(relay_stop())
    try:
        await asyncio.to_thread(poll_forever, cfg, engine, halt, on_stored)
    finally:
        halt.set()  # also when cancelled: the thread ends within STOP_CHECK seconds
        relay.cancel()


def _start(engine: Engine, key: str, uidvalidity: int) -> int:
    """The last UID done in this folder; 0 when new, or when UIDVALIDITY changed (UIDs renumbered)."""
    with transaction(engine) as session:
        row = session.exec(select(ImapState).where(ImapState.mailbox == key)).first()
        if row is None:
            session.add(ImapState(mailbox=key, uidvalidity=uidvalidity, last_uid=0))
            return 0
        if row.uidvalidity != uidvalidity:
            log.warning(
                "imap %s: UIDVALIDITY changed (%s -> %s): reading the whole folder again; "
                "mail already stored is recognised and not stored twice",
                key,
                row.uidvalidity,
                uidvalidity,
            )
            row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, 0, utcnow()
            session.add(row)
        return row.last_uid


def _advance(engine: Engine, key: str, uidvalidity: int, uid: int) -> None:
    with transaction(engine) as session:
        row = session.exec(select(ImapState).where(ImapState.mailbox == key)).first()
        if row is not None and row.uidvalidity == uidvalidity and uid > row.last_uid:
            row.last_uid, row.updated_at = uid, utcnow()
            session.add(row)


def _chunks(items: list[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _by_size(uids: list[int], sizes: dict[int, int], max_size: int) -> Iterator[list[int]]:
    """Groups of UIDs to fetch together, within BATCH_BYTES; oversized and vanished ones left out."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid)
        if size is None or size > max_size:
            continue
        if group and total + size > BATCH_BYTES:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


def _take_exists(client: IMAPClient) -> bool:
    """Whether the server announced new mail (EXISTS) with an earlier command's responses.

    imapclient keeps no public record of these: imaplib files them in untagged_responses."""
    return bool(client._imap.untagged_responses.pop("EXISTS", None))


def _is_news(response: tuple[Any, ...]) -> bool:
    # "* 3 EXISTS": new mail; "* BYE": the server is leaving (idle_done will fail, we reconnect).
    return (len(response) > 1 and response[1] in (b"EXISTS", b"RECENT")) or response[:1] == (b"BYE",)
