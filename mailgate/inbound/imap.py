"""IMAP intake: read one folder, store each message, then flag or move it. Never delete.

Messages are fetched with BODY.PEEK[] (nothing turns \\Seen before it is stored) and stored exactly
like SMTP mail (same dedupe key). Only after the store has committed is the message flagged or moved
and the folder's last UID advanced in the database, so a crash in between means the message is read
again and recognised as a duplicate: it is never stored, or processed, twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError
from sqlalchemy.engine import Engine
from sqlmodel import select

from mailgate.config import Config, ImapSection
from mailgate.db import transaction
from mailgate.inbound.store import store
from mailgate.models import ImapState, utcnow

log = logging.getLogger("mailgate.imap")
# imapclient says "Connection closed" at INFO on every reconnect: keep our log one line per problem.
logging.getLogger("imapclient").setLevel(logging.WARNING)

TIMEOUT = 30.0  # seconds for the connection and for any one reply
BATCH_COUNT = 20  # messages per FETCH BODY.PEEK[] ...
BATCH_BYTES = 8 * 1024 * 1024  # ... and at most this much of them in memory at once
BACKOFF_MIN, BACKOFF_MAX = 1.0, 300.0
STOP_CHECK = 1.0  # seconds between looks at the stop flag while in IDLE


class ImapError(Exception):
    """A problem worded for the operator (never containing the password or token)."""


@dataclass(frozen=True)
class PassResult:
    stored: int = 0  # newly stored
    duplicates: int = 0  # already stored: a redelivery, or a crash before the flag last time
    too_big: int = 0  # over [mail] max_size: left in the mailbox for a person

    def __add__(self, other: PassResult) -> PassResult:
        return PassResult(
            self.stored + other.stored, self.duplicates + other.duplicates, self.too_big + other.too_big
        )


def section(cfg: Config) -> ImapSection:
    if cfg.imap is None:
        raise ImapError("no [imap] section in the configuration")
    return cfg.imap


def mailbox_key(im: ImapSection) -> str:
    """The ImapState row's name: UIDs belong to one folder of one account on one server."""
    return f"{im.username}@{im.host}/{im.folder}"


def describe(cfg: Config) -> str:
    """One line for the serve banner."""
    im = section(cfg)
    auth = "XOAUTH2" if im.oauth2_token_file or im.oauth2_token_env else "password"
    then = f"flag {im.flag}" if im.after == "flag" else f"move to {im.move_to}"
    return f"{mailbox_key(im)} on port {im.server_port} ({im.security}, {auth}; then {then})"


def credentials(cfg: Config) -> tuple[str, str]:
    """("XOAUTH2" or "password", the secret). Raises ImapError naming what is missing."""
    im = section(cfg)
    if im.oauth2_token_file:
        path = cfg.resolve(im.oauth2_token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ImapError(f"[imap] oauth2_token_file {path}: {e.strerror}") from None
        if not token:
            raise ImapError(f"[imap] oauth2_token_file {path} is empty")
        return "XOAUTH2", token
    if im.oauth2_token_env:
        token = os.environ.get(im.oauth2_token_env, "").strip()
        if not token:
            raise ImapError(f"{im.oauth2_token_env} is not set: the XOAUTH2 access token for {im.username}")
        return "XOAUTH2", token
    password = os.environ.get(im.password_env, "")
    if not password:
        raise ImapError(
            f"{im.password_env} is not set: the password of {im.username} (for Gmail an app password)"
        )
    return "password", password


def connect(cfg: Config) -> IMAPClient:
    """Connect, secure the connection as configured and log in."""
    im = section(cfg)
    kind, secret = credentials(cfg)
    try:
        context = ssl.create_default_context(cafile=str(cfg.resolve(im.ca_file)) if im.ca_file else None)
    except (OSError, ssl.SSLError) as e:
        raise ImapError(f"[imap] ca_file {cfg.resolve(im.ca_file or '')}: {e}") from None
    where = f"{im.host}:{im.server_port}"
    try:
        client = IMAPClient(
            im.host,
            im.server_port,
            ssl=im.security == "tls",
            ssl_context=context if im.security == "tls" else None,
            timeout=TIMEOUT,
        )
    except OSError as e:
        raise ImapError(f"cannot connect to {where}: {e}") from None
    try:
        if im.security == "starttls":
            try:
                client.starttls(context)
            except CapabilityError:
                raise ImapError(f'{where} does not offer STARTTLS (try security = "tls")') from None
        if kind == "XOAUTH2":
            client.oauth2_login(im.username, secret)
        else:
            client.login(im.username, secret)
    except LoginError as e:
        _shutdown(client)
        raise ImapError(f"{kind} login to {where} as {im.username} refused: {_text(e)}") from None
    except BaseException:
        _shutdown(client)
        raise
    return client


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

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            _shutdown(client)

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
    """One pass on a connection of its own (`mailgate poll --once`)."""
    poller = Poller(cfg, engine)
    try:
        return poller.run_pass()
    finally:
        poller.close()


def poll_forever(
    cfg: Config,
    engine: Engine,
    stop: threading.Event,
    on_stored: Callable[[PassResult], None] | None = None,
) -> None:
    """Pass, IDLE, pass, ... until stop is set; reconnect with backoff on any problem.

    on_stored runs in this thread after a pass that stored something.
    """
    poller = Poller(cfg, engine)
    delay = BACKOFF_MIN
    try:
        while not stop.is_set():
            try:
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


def _text(e: BaseException) -> str:
    # imapclient puts the server's bytes repr in its messages: b'[AUTHENTICATIONFAILED] ...'
    text = str(e)
    for prefix in ("b'", 'b"'):
        if text.startswith(prefix) and text.endswith(prefix[1]):
            text = text[2:-1]
    return text


def problem(e: BaseException) -> str:
    """One line for the operator: what went wrong talking to the server."""
    return str(e) if isinstance(e, ImapError) else f"{type(e).__name__}: {_text(e)}"


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):  # already closed
        client.shutdown()
