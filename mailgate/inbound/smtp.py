"""SMTP in: refuse what is not ours, store durably before 250, never a 5xx for our own failure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailgate.config import Config
from mailgate.inbound.store import store

log = logging.getLogger("mailgate.smtp")


class Handler:
    def __init__(self, cfg: Config, engine: Any, on_stored: Callable[[], None]) -> None:
        self.cfg = cfg
        self.engine = engine
        self.on_stored = on_stored
        self.accepted = {cfg.mail.signup.lower(), cfg.mail.notices.lower()}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.cfg.is_local(address):
            return "550 5.7.1 Relaying denied: not a domain of this server"
        local, _, domain = address.lower().rpartition("@")
        book = f"{local.partition('+')[0]}@{domain}" == self.cfg.mail.book.lower()  # book@, book+K7Q2@
        if address.lower() not in self.accepted and not book and local not in ("postmaster", "abuse"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            stored = await asyncio.to_thread(
                store,
                self.engine,
                self.cfg.spool_dir,
                raw,
                envelope.rcpt_tos,
                mail_from="" if envelope.mail_from in (None, "", "<>") else envelope.mail_from,
                via="smtp",
                client=client_of(session),
            )
        except Exception as e:  # disk full, database locked, ...: the sender must retry
            log.error("could not store mail from %s: %s: %s", envelope.mail_from, type(e).__name__, e)
            return "451 4.3.0 Temporary local problem, please try again later"
        self.on_stored()
        ids = ",".join(map(str, stored.ids or stored.duplicates))
        return f"250 2.0.0 OK queued as {ids}"


def client_of(session: Session) -> str | None:
    """The connecting client's address: replies and new customers are limited per client."""
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer) if peer else None


def make_smtp(cfg: Config, handler: Handler) -> SMTP:
    return SMTP(
        handler,
        data_size_limit=cfg.mail.max_size,
        enable_SMTPUTF8=True,
        decode_data=False,
        hostname=cfg.mail.domains[0],
        ident="mailgate",
    )
