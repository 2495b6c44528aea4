"""[imap]: a mailbox to read vendor notices from, and the checks that keep its password off the wire."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from mailgate.config.sections import Email, Section

ImapSecurity = Literal["tls", "starttls", "none"]
ImapAfter = Literal["flag", "move"]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAP_ATOM = re.compile(r'^[^\s(){%*"\\\]\x00-\x1f\x7f]+$')  # a keyword: an IMAP atom
_SYSTEM_FLAGS = {"\\seen": "\\Seen", "\\flagged": "\\Flagged"}


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ImapSection(Section):
    """A mailbox to read (vendor notices): stored, then flagged or moved; never deleted."""

    host: str = Field("", validate_default=True)
    port: int | None = Field(None, gt=0, lt=65536)  # None: 993 for tls, 143 otherwise
    security: ImapSecurity = Field("tls", validate_default=True)
    ca_file: str | None = None  # PEM CA to trust instead of the system store (a private server)
    username: str = Field("", validate_default=True)
    password_env: str = Field("MAILGATE_IMAP_PASSWORD", validate_default=True)
    oauth2_token_env: str | None = None  # set: XOAUTH2 with the access token in this variable
    oauth2_token_file: str | None = None  # or read at every login, so a refresher can replace it
    folder: str = Field("INBOX", min_length=1)
    after: ImapAfter = Field("flag", validate_default=True)
    flag: str = Field("$MailgateStored", validate_default=True)
    move_to: str | None = Field(None, validate_default=True)
    # Servers end an IDLE after 30 minutes; re-IDLE (and look again) well before.
    idle_seconds: int = Field(300, gt=0, le=1740)
    rcpt: Email | None = None  # the local address stored mail is filed under; default [mail] notices

    @property
    def server_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        bad = not v or any(c.isspace() or c == "/" for c in v)
        if ":" in v:  # imap.gmail.com:993 or a URL; an IPv6 address is fine
            try:
                ipaddress.IPv6Address(v)
            except ValueError:
                bad = True
        if bad:
            raise ValueError("the IMAP server's host name such as imap.gmail.com (the port goes in `port`)")
        return v

    @field_validator("security", mode="before")
    @classmethod
    def _security(cls, v: object, info: ValidationInfo) -> object:
        if v not in ("tls", "starttls", "none"):
            raise ValueError('"tls" (port 993), "starttls" (port 143) or "none"')
        host = info.data.get("host")  # None: host itself is wrong, reported on its own
        if v == "none" and host is not None and not is_loopback(host):
            # The password would cross the network in clear text.
            raise ValueError(f'"tls" or "starttls" for {host!r} ("none" is only for 127.0.0.1 or localhost)')
        return v

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the mailbox's login name such as shop@gmail.com")
        return v

    @field_validator("password_env", "oauth2_token_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.match(v):
            raise ValueError("the name of an environment variable such as MAILGATE_IMAP_PASSWORD")
        return v

    @field_validator("after", mode="before")
    @classmethod
    def _after(cls, v: object) -> object:
        if v not in ("flag", "move"):
            raise ValueError('"flag" (keep the mail in the folder) or "move" (to [imap] move_to)')
        return v

    @field_validator("flag")
    @classmethod
    def _flag(cls, v: str) -> str:
        if v.lower() in _SYSTEM_FLAGS:
            return _SYSTEM_FLAGS[v.lower()]
        if not _IMAP_ATOM.match(v):
            raise ValueError('a keyword such as $MailgateStored, or "\\\\Flagged" or "\\\\Seen"')
        return v

    @field_validator("move_to")
    @classmethod
    def _move_to(cls, v: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("after") == "move" and not v:
            raise ValueError('a folder to move stored mail to (after = "move")')
        if v is not None and v == info.data.get("folder"):
            raise ValueError("a folder other than [imap] folder")
        return v
