"""Real aiosmtpd servers on loopback that keep what they were sent: the relays of the outbound tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import free_port, starts_a_server

HOST = "127.0.0.1"
ENV = {"MAILGATE_RELAY_USER": "mailgate", "MAILGATE_RELAY_PASSWORD": "s3cret pass"}
# Every password a test relay was sent, with whether the connection was TLS by then.
SEEN_PASSWORDS: list[tuple[str, bool]] = []


@dataclass
class Recorder:
    """Handler that accepts everything and keeps what it got, raw RCPT arguments included."""

    envelopes: list[Envelope] = field(default_factory=list)
    raw_rcpt: list[str] = field(default_factory=list)
    authenticated: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.authenticated.append(bool(session.authenticated))
        return "250 2.0.0 Ok: queued as TEST123"


@dataclass
class RefuseRcpt(Recorder):
    reply: str = "451 4.3.0 try again later"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        return self.reply


class RawRcptSMTP(SMTP):
    async def smtp_RCPT(self, arg: str) -> None:
        # aiosmtpd unquotes the local part before handlers see it: keep the wire form.
        self.event_handler.raw_rcpt.append(arg)
        await super().smtp_RCPT(arg)


class RecordingController(Controller):
    def factory(self) -> SMTP:
        return RawRcptSMTP(self.handler, **self.SMTP_kwargs)


def serving(handler: Recorder, **kwargs: Any) -> Iterator[tuple[Recorder, int]]:
    """Run `handler` on a free loopback port for as long as the caller iterates."""
    starts_a_server("an SMTP relay")
    port = free_port()
    controller = RecordingController(handler, hostname=HOST, port=port, **kwargs)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    if isinstance(auth_data, LoginPassword):
        SEEN_PASSWORDS.append((auth_data.password.decode(), session.ssl is not None))
    ok = (
        mechanism in ("LOGIN", "PLAIN")
        and isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == ENV["MAILGATE_RELAY_USER"]
        and auth_data.password.decode() == ENV["MAILGATE_RELAY_PASSWORD"]
    )
    # handled=False: let aiosmtpd send the 535 itself.
    return AuthResult(success=ok, handled=False)
