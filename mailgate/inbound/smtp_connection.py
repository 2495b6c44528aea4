"""One SMTP connection: counted against the limits, the client it really serves (XCLIENT or XFORWARD
from a configured front MTA, as Postfix sends them), its messages, and DATA lines of any length."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, syntax

from mailgate.config.sections import SmtpSection
from mailgate.inbound import smtp_setup
from mailgate.limits import EveryMinute, Gate, Rate

log = logging.getLogger("mailgate.smtp")

_UNKNOWN = ("[UNAVAILABLE]", "[TEMPUNAVAIL]")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
# <dot-atom@dot-atom>, how nearly every MTA writes MAIL FROM and RCPT TO (RFC 5321 4.1.2).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(rf"<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(.*)", re.DOTALL)


@dataclass(frozen=True)
class SmtpLimits:
    gate: Gate  # connections, in total and per client
    rate: Rate  # messages per client and minute
    per_connection: int  # messages in one connection
    recipients: int  # RCPTs in one transaction
    refused_recipients: int  # in one connection, before it is closed
    front_mtas: frozenset[str]
    said: EveryMinute = field(default_factory=EveryMinute)  # refusals are logged once a minute

    @classmethod
    def of(cls, smtp: SmtpSection, total: int | None = None) -> SmtpLimits:
        """`total`: the connections the descriptor limit leaves (limits.fit_connections)."""
        front = frozenset(smtp.front_mtas)
        return cls(
            gate=Gate(total or smtp.max_connections, smtp.max_connections_per_client, exempt=front),
            rate=Rate(smtp.max_messages_per_client_minute),
            per_connection=smtp.max_messages_per_connection,
            recipients=smtp.max_recipients,
            refused_recipients=smtp.max_refused_recipients,
            front_mtas=front,
        )


def client_address(value: str) -> str | None:
    """An address as a client is counted: "IPV6:2001:db8::1" and "::ffff:192.0.2.1" as Python writes
    the IP; None for a value that is not one (or that a front MTA did not know)."""
    value = value.strip()
    if value.upper().startswith("IPV6:"):
        value = value[5:]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def _attributes(arg: str | None) -> dict[str, str] | None:
    """XCLIENT/XFORWARD "NAME=value ..." with xtext (+XX) undone; None when malformed."""
    out: dict[str, str] = {}
    for word in (arg or "").split():
        name, eq, value = word.partition("=")
        if not eq or not name.isalpha():
            return None
        out[name.upper()] = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)
    return out or None


def _named_client(attributes: dict[str, str]) -> str | bool | None:
    """The ADDR a front MTA named: an address, None when it did not know, False when malformed."""
    addr = attributes.get("ADDR")
    if addr is None or addr.upper() in _UNKNOWN:
        return None
    return client_address(addr) or False


class Connection(SMTP):
    """aiosmtpd's SMTP with mailgate's limits; the Handler asks it whether a message may begin."""

    def __init__(self, handler: Any, limits: SmtpLimits, **kwargs: Any) -> None:
        smtp_setup.set_up(self, handler, **kwargs)  # SMTP.__init__, without its lookups every time
        self.limits = limits
        self.peer_ip = ""
        self.client = ""  # the original client: the peer, or whom XCLIENT named
        self.admitted = False
        self.messages = 0
        self.refused_recipients = 0
        self.close_after_reply = False

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # aiosmtpd parses every path with the email package's header parser (and defines a class
        # per call); a plain <local@domain> is read here with the same result, anything else there.
        plain = _PLAIN_PATH.fullmatch(arg)
        if plain is None:
            return super()._getaddr(arg)
        address, rest = plain.groups()
        if rest[:1] in (" ", "\t"):
            rest = rest.lstrip()  # as the header parser takes folding white space after the path
        if rest.startswith("("):
            return super()._getaddr(arg)  # a comment: the header parser's to read
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    @property
    def from_front_mta(self) -> bool:
        return self.peer_ip in self.limits.front_mtas

    async def _handle_client(self) -> None:
        assert self.session is not None and self.transport is not None
        peer = self.session.peer
        if isinstance(peer, tuple) and peer:
            self.peer_ip = client_address(str(peer[0])) or str(peer[0])
        self.client = self.peer_ip
        refused = self.limits.gate.admit(self.client)
        if refused is not None:
            if self.limits.said.due("refused"):
                held = self.limits.said.skipped("refused")
                log.warning("refused a connection from %s: %s (%d more since)", self.client, refused, held)
            await self.push(f"421 4.7.0 {self.hostname} Error: {refused}; try again later")
            self.transport.close()
            return
        self.admitted = True
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        if self.admitted:
            self.admitted = False
            self.limits.gate.release(self.client)
        super().connection_lost(error)

    def client_of(self, envelope: Envelope) -> str:
        """The original client of this transaction (XFORWARD names it per transaction)."""
        return getattr(envelope, "xforward_client", None) or self.client

    def admit_message(self, envelope: Envelope) -> str | None:
        """At MAIL FROM: None when a message may begin, else the reply refusing it."""
        client = self.client_of(envelope)
        # A front MTA's own connection carries many clients' mail (XFORWARD names each): only
        # a connection for one client has a message limit.
        shared = self.from_front_mta and self.client == self.peer_ip
        if not shared and self.messages >= self.limits.per_connection:
            self.close_after_reply = True
            return f"421 4.7.0 {self.hostname} Error: too many messages in one connection; reconnect"
        if not self.limits.rate.allow(client):
            return f"450 4.7.1 Error: too much mail from {client}; try again later"
        self.messages += 1
        return None

    async def smtp_MAIL(self, arg: str | None) -> None:
        await super().smtp_MAIL(arg)
        if self.close_after_reply and self.transport is not None:
            self.transport.close()

    async def smtp_RCPT(self, arg: str | None) -> None:
        await super().smtp_RCPT(arg)
        if self.close_after_reply and self.transport is not None:
            self.transport.close()

    def refused_recipient(self) -> str | None:
        """Counts a refused RCPT; past the limit (a client guessing addresses), the 421 that ends it."""
        self.refused_recipients += 1
        if self.refused_recipients < self.limits.refused_recipients:
            return None
        self.close_after_reply = True
        return f"421 4.7.0 {self.hostname} Error: too many refused recipients; closing"

    async def _named_by_front(self, command: str, arg: str | None) -> tuple[bool, str | None]:
        """(taken, the client named or None) for XCLIENT/XFORWARD; not taken: answered here."""
        assert self.envelope is not None
        attributes = _attributes(arg)
        named = None if attributes is None else _named_client(attributes)
        if not self.from_front_mta:
            log.warning("%s from %s, which is not one of [smtp] front_mtas", command, self.peer_ip)
            await self.push("550 5.7.0 Error: insufficient authorization")
        elif attributes is None or named is False:
            await self.push(f"501 5.5.4 Syntax: {command} attribute=value ...")
        elif self.envelope.mail_from:
            await self.push("503 5.5.1 Error: MAIL transaction in progress")
        else:
            return True, named if isinstance(named, str) else None
        return False, None

    @syntax("XCLIENT attribute=value ...")
    async def smtp_XCLIENT(self, arg: str | None) -> None:
        taken, named = await self._named_by_front("XCLIENT", arg)
        if not taken:
            return
        assert self.session is not None and self.transport is not None
        if named is not None and named != self.client:
            refused = self.limits.gate.move(self.client, named)
            if refused is not None:
                await self.push(f"421 4.7.0 {self.hostname} Error: {refused}; try again later")
                self.transport.close()
                return
            self.client, self.messages = named, 0
        # As Postfix does: the session starts again, greeting included, for the client named.
        self.session.host_name, self.session.extended_smtp = None, False
        self._set_rset_state()
        await self.push(f"220 {self.hostname} {self.__ident__}")

    @syntax("XFORWARD attribute=value ...")
    async def smtp_XFORWARD(self, arg: str | None) -> None:
        taken, named = await self._named_by_front("XFORWARD", arg)
        if not taken:
            return
        if named is not None:
            self.envelope.xforward_client = named  # type: ignore[attr-defined]
        await self.push("250 2.0.0 Ok")

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, but a line longer than 1,000 bytes is kept rather than refused with 500:
        Postfix accepts such lines too (it cuts them into records and joins them on delivery), and
        real mail sent with bare LF line ends is one long "line" to SMTP. The size limit still holds."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await self._read_data()
        if content is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status if isinstance(status, str) else "250 OK")

    async def _read_data(self) -> bytes | None:
        """The message up to the lone dot, dot-stuffing undone; None when over the size limit."""
        lines: list[bytes] = []
        fragments: list[bytes] = []
        size, limit, over, line_start = 0, self.data_size_limit, False, True
        reset_at = self.loop.time()
        while self.transport is not None:
            try:
                part = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as e:  # a long line: take it in pieces
                part = await self._reader.read(e.consumed)
            # Like Postfix's smtpd_timeout: per read, not for the whole DATA; to the second, as a
            # new timer per line was a tenth of intake's CPU.
            if self.loop.time() - reset_at >= 1:
                self._reset_timeout()
                reset_at = self.loop.time()
            if line_start and part == b".\r\n":
                break
            line_start = part.endswith(b"\r\n")
            size += len(part)
            if over or (limit and size > limit):
                over = True  # read on to the end, keep nothing
                lines, fragments = [], []
                continue
            fragments.append(part)
            if line_start:
                line = b"".join(fragments)
                lines.append(line[1:] if line.startswith(b".") else line)
                fragments = []
        return None if over else b"".join(lines)
