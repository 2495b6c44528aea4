"""SMTP in: refuse what is not ours, store durably before 250, never a 5xx for our own failure."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailgate import db
from mailgate.config import Config
from mailgate.faults import is_our_own, is_out_of_space
from mailgate.inbound.group_commit import GroupCommit
from mailgate.inbound.smtp_connection import Connection, SmtpLimits
from mailgate.inbound.smtp_setup import Templates
from mailgate.inbound.store import Arrival

log = logging.getLogger("mailgate.smtp")
# aiosmtpd logs a dozen INFO lines per message (each command, each connection): a burst spent more
# time formatting them than storing the mail. One line per stored message is ours (as Postfix logs).
logging.getLogger("mail.log").setLevel(logging.WARNING)

MAX_SENDER = 320  # characters of a MAIL FROM address: RFC 5321 allows 256, real mail stays far below
NO_SPACE = "452 4.3.1 Insufficient system storage"


def _bad_sender(address: str) -> str | None:
    if len(address) > MAX_SENDER:
        return f"501 5.1.7 Bad sender address: longer than {MAX_SENDER} characters"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in address):
        return "501 5.1.7 Bad sender address: control characters"
    return None


class Handler:
    def __init__(self, cfg: Config, engine: Any, on_stored: Callable[[], None]) -> None:
        self.cfg = cfg
        self.engine = engine
        self.on_stored = on_stored
        self.intake = GroupCommit(engine, cfg.spool_dir)
        self.accepted = {cfg.mail.signup.lower(), cfg.mail.notices.lower()}
        self._said_short = 0.0
        self._space: tuple[float, int | None] = (-1.0, None)  # (when looked, bytes free)
        self.unavailable: str | None = None  # why the database cannot be used, while it cannot
        self.connection_templates: Templates = {}  # what aiosmtpd's setup found (smtp_setup.py)

    def space_left(self) -> int | None:
        """Bytes free where the SQLite database is; None for a database server's (PostgreSQL)."""
        path = db.sqlite_path(self.engine.url.render_as_string())
        if path is None:
            return None
        where = path.parent if path.parent.exists() else self.cfg.var_dir
        try:
            return shutil.disk_usage(where).free
        except OSError:
            return None

    def space_needed(self) -> int:
        """As Postfix does: room for one and a half of the largest message, or mail is refused."""
        return self.cfg.mail.max_size * 3 // 2

    def _short_of_space(self) -> bool:
        now = time.monotonic()
        if now - self._space[0] >= 1:  # once a second, not a statvfs per message
            self._space = (now, self.space_left())
        free = self._space[1]
        if free is None or free >= self.space_needed():
            return False
        if time.monotonic() - self._said_short > 60:
            self._said_short = time.monotonic()
            log.error(
                "refusing mail with 452: %s has %d bytes free, mail needs %d",
                self.cfg.var_dir,
                free,
                self.space_needed(),
            )
        return True

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if isinstance(server, Connection) and server.from_front_mta:
            responses[-1:-1] = ["250-XCLIENT ADDR NAME PROTO HELO", "250-XFORWARD ADDR NAME PROTO HELO"]
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        refused = _bad_sender(address)
        if refused is None and isinstance(server, Connection):
            refused = server.admit_message(envelope)
        if refused is None and self._short_of_space():
            refused = NO_SPACE
        if refused is None and self.unavailable is not None:
            refused = "451 4.3.0 Temporary local problem: the database is unavailable, try again later"
        if refused is not None:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.cfg.is_local(address):
            return _refused(server, "550 5.7.1 Relaying denied: not a domain of this server")
        local, _, domain = address.lower().rpartition("@")
        book = f"{local.partition('+')[0]}@{domain}" == self.cfg.mail.book.lower()  # book@, book+K7Q2@
        bounce = self.cfg.is_bounce_address(address)  # bounce+TOKEN@: delivery reports of our mail
        if (
            address.lower() not in self.accepted
            and not (book or bounce)
            and local not in ("postmaster", "abuse")
        ):
            return _refused(server, "550 5.1.1 No such user here")
        if any(address.lower() == r.lower() for r in envelope.rcpt_tos):
            return "250 2.1.5 OK (duplicate recipient)"  # one mailbox, one message: never two rows
        if isinstance(server, Connection) and len(envelope.rcpt_tos) >= server.limits.recipients:
            return "452 4.5.3 Error: too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            mail_from = "" if envelope.mail_from in (None, "", "<>") else envelope.mail_from
            client = client_of(server, session, envelope)
            # 250 only once the batch holding this message has committed (group commit).
            stored = await self.intake.store(Arrival(raw, envelope.rcpt_tos, mail_from, "smtp", client))
        except Exception as e:  # disk full, database locked, ...: the sender must retry
            log.error("could not store mail from %s: %s: %s", envelope.mail_from, type(e).__name__, e)
            if is_our_own(e) and is_out_of_space(e):
                return NO_SPACE
            return "451 4.3.0 Temporary local problem, please try again later"
        self.on_stored()
        ids = ",".join(map(str, stored.ids or stored.duplicates))
        log.info(
            "%s as %s from=%s to=%s client=%s size=%d",
            "stored" if stored.ids else "already stored",
            ids,
            mail_from or "<>",
            ",".join(envelope.rcpt_tos),
            client,
            len(raw),
        )
        return f"250 2.0.0 OK queued as {ids}"


def client_of(server: SMTP, session: Session, envelope: Envelope) -> str | None:
    """The original client (the one a front MTA names, else the peer): replies and new customers are
    limited per client."""
    if isinstance(server, Connection):
        return server.client_of(envelope) or None
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer) if peer else None


def make_smtp(cfg: Config, handler: Handler, limits: SmtpLimits) -> Connection:
    return Connection(
        handler,
        limits,
        data_size_limit=cfg.mail.max_size,
        enable_SMTPUTF8=True,
        decode_data=False,
        hostname=cfg.mail.domains[0],
        ident="mailgate",
        timeout=cfg.raw.smtp.command_seconds,
    )


def _refused(server: SMTP, reply: str) -> str:
    """The refusal, or the 421 that closes a connection past `[smtp] max_refused_recipients`."""
    return (server.refused_recipient() if isinstance(server, Connection) else None) or reply
