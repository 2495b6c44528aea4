"""Send a message through an SMTP relay (aiosmtplib).

Failures are sorted in two: PermanentError for a 5xx reply (the mail is recorded as
failed), TransientError for everything else — 4xx replies, refused or dropped connections,
timeouts, TLS trouble — so the outbox retries later.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from mailgate.config.imap import is_loopback
from mailgate.mail.compose import envelope_recipient

TlsMode = Literal["none", "starttls", "implicit"]

# scheme → (tls mode, default port)
_SCHEMES: dict[str, tuple[TlsMode, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 25),
    "smtps": ("implicit", 465),
}
_FALSE = {"0", "false", "no", "off"}


class TransientError(Exception):
    """4xx, connection refused/reset, timeout: retry later."""


class PermanentError(Exception):
    """5xx: record as failed, do not retry."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    # "none": no TLS required, but STARTTLS is used when the server offers it (smtp://);
    # "starttls": STARTTLS required (smtp+starttls://); "implicit": TLS from connect (smtps://).
    tls: TlsMode
    username: str | None
    password: str | None
    verify_tls: bool = True
    # The password may go without TLS: only for a relay on this host (the URL's plaintext_auth=loopback).
    plaintext_auth: bool = False

    def __repr__(self) -> str:
        # Keep the password out of logs and tracebacks.
        secret = "***" if self.password else None
        return (
            f"Relay(host={self.host!r}, port={self.port!r}, tls={self.tls!r}, "
            f"username={self.username!r}, password={secret!r}, verify_tls={self.verify_tls!r}, "
            f"plaintext_auth={self.plaintext_auth!r})"
        )


def parse_relay_url(url: str, environ: Mapping[str, str]) -> Relay:
    """Parse "smtp://host:port", "smtps://..." or "smtp+starttls://...".

    Credentials come from MAILGATE_RELAY_USER / MAILGATE_RELAY_PASSWORD, which win over a
    user:pass@ in the URL (accepted, but config files should not hold passwords).
    "?verify_tls=false" turns certificate checks off for a relay with a self-signed cert.
    "?plaintext_auth=loopback" lets the password go without TLS, to a relay on this host only:
    otherwise a relay that offers AUTH but no STARTTLS never gets it.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad relay URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"bad relay URL {url!r}: scheme must be one of {', '.join(sorted(_SCHEMES))}")
    if not parts.hostname:
        raise ValueError(f"bad relay URL {url!r}: no host (expected e.g. smtp://mail.example.com:587)")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"bad relay URL {url!r}: unexpected path or fragment")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"verify_tls", "plaintext_auth"}
    if unknown:
        raise ValueError(f"bad relay URL {url!r}: unknown parameter(s) {', '.join(sorted(unknown))}")
    verify_values = query.get("verify_tls", ["true"])
    verify_tls = verify_values[-1].strip().lower() not in _FALSE
    plaintext = query.get("plaintext_auth", [""])[-1].strip().lower()
    if plaintext not in ("", "loopback"):
        raise ValueError(f"bad relay URL {url!r}: plaintext_auth can only be loopback")
    if plaintext and not is_loopback(parts.hostname):
        raise ValueError(
            f"bad relay URL {url!r}: plaintext_auth=loopback is only for a relay on this host "
            "(127.0.0.1, ::1 or localhost); use smtp+starttls:// or smtps:// for another"
        )

    tls, default_port = _SCHEMES[scheme]
    username = environ.get("MAILGATE_RELAY_USER") or (unquote(parts.username) if parts.username else None)
    password = environ.get("MAILGATE_RELAY_PASSWORD") or (unquote(parts.password) if parts.password else None)
    return Relay(
        host=parts.hostname,
        port=port or default_port,
        tls=tls,
        username=username or None,
        password=password or None,
        verify_tls=verify_tls,
        plaintext_auth=bool(plaintext),
    )


def _classify(code: int, text: str, step: str) -> Exception:
    message = f"{step}: {code} {text}".strip()
    if 500 <= code < 600:
        return PermanentError(message)
    return TransientError(message)


async def send(relay: Relay, message: bytes, mail_from: str, rcpt: str, *, timeout: float = 30) -> str:
    """Deliver message to one recipient; return the server's reply to the end of DATA."""
    try:
        recipient = envelope_recipient(rcpt)
    except ValueError as exc:
        raise PermanentError(f"RCPT TO: {exc}") from exc  # retrying cannot fix the address
    client = aiosmtplib.SMTP(
        hostname=relay.host,
        port=relay.port,
        use_tls=relay.tls == "implicit",
        # None lets aiosmtplib upgrade when STARTTLS is offered; True fails when it is not.
        start_tls=True if relay.tls == "starttls" else (False if relay.tls == "implicit" else None),
        validate_certs=relay.verify_tls,
        timeout=timeout,
    )
    step = "connect"
    try:
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            # STARTTLS forgets the extensions offered before it; ask again to see AUTH.
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        if relay.username and relay.password and client.supports_extension("auth"):
            step = "AUTH"
            if client.get_transport_info("sslcontext") is None and not relay.plaintext_auth:
                # A relay without STARTTLS, or a man in the middle who removed it: never the password
                # in clear. Retried, since the next connection may well offer STARTTLS again.
                raise TransientError(
                    "AUTH without TLS refused: the relay offered AUTH but no STARTTLS; the password "
                    "was not sent (a relay on this host may be marked ?plaintext_auth=loopback)"
                )
            await client.login(relay.username, relay.password)
        step = "MAIL FROM"
        await client.mail(mail_from)
        step = "RCPT TO"
        await client.rcpt(recipient)
        step = "DATA"
        response = await client.data(message)
    except aiosmtplib.SMTPResponseException as exc:
        raise _classify(exc.code, exc.message, step) from exc
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
        # Before ValueError: a certificate failure is both an SSLError and a ValueError.
        # No reply code: connection refused/reset, timeout, TLS failure, STARTTLS missing.
        raise TransientError(f"{step}: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        # aiosmtplib refuses addresses that could inject SMTP parameters.
        raise PermanentError(f"{step}: {exc}") from exc
    finally:
        if client.is_connected:
            try:
                # Bounded: after a timeout the server may never answer QUIT either.
                await client.quit(timeout=min(timeout, 5))
            except (aiosmtplib.SMTPException, OSError):
                client.close()
    return response.message
