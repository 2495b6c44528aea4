"""mailgate.toml: read, validate, and resolve paths.

Every wrong or missing key is reported with the file, the key and what was expected, before anything
starts. Relative paths are relative to the config file (or to the working directory with no file).
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

DEFAULT_CARRIERS = [
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "biz.ezweb.ne.jp",
    "softbank.ne.jp",
    "i.softbank.jp",
    "disney.ne.jp",
    "ymobile.ne.jp",
    "y-mobile.ne.jp",
    "emobile.ne.jp",
    "pdx.ne.jp",
    "willcom.com",
    "rakuten.jp",
    "uqmobile.jp",
]


class ConfigError(Exception):
    """A configuration mistake, worded for the person who edits the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
HostPort = Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$")]


class MailSection(_Section):
    domains: list[str] = ["shop.example"]
    signup: Email = "signup@shop.example"
    notices: Email = "notices@shop.example"
    max_size: int = Field(10 * 1024 * 1024, gt=0)
    carrier_domains: list[str] = DEFAULT_CARRIERS
    replies_per_hour: int = Field(5, ge=0)

    @field_validator("domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one domain")
        return [d.lower() for d in v]


def _hours_value(v: str) -> str:
    from mailgate.times import parse_hours

    try:
        parse_hours(v)
    except ValueError as e:
        order = " (the end after the start)" if "end" in str(e) else ""
        raise ValueError(f'HH:MM-HH:MM or "closed"{order}') from None
    return v


HoursValue = Annotated[str, AfterValidator(_hours_value)]


class StaffEntry(_Section):
    name: Annotated[str, Field(min_length=1)]
    aliases: list[str] = []  # the name as vendors write it: "さとう", "Sato", "佐藤 先生"


class MenuEntry(_Section):
    name: Annotated[str, Field(min_length=1)]
    aliases: list[str] = []
    minutes: int = Field(60, gt=0)


class ShopHours(_Section):
    """Opening hours per weekday, "closed" on 定休日; `holiday`: on [shop] holidays (default closed)."""

    mon: HoursValue | None = None
    tue: HoursValue | None = None
    wed: HoursValue | None = None
    thu: HoursValue | None = None
    fri: HoursValue | None = None
    sat: HoursValue | None = None
    sun: HoursValue | None = None
    holiday: HoursValue | None = None

    @model_validator(mode="after")
    def _whole_week(self) -> ShopHours:
        # No hours at all means "not checked"; half a week is a mistake, not a guess.
        week = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        missing = [d for d in week if getattr(self, d) is None]
        if missing and len(missing) < len(week):
            raise ValueError(f"every weekday mon..sun once one is set (missing: {', '.join(missing)})")
        return self


class ShopSection(_Section):
    name: str = "デモ整体院"
    timezone: str = "Asia/Tokyo"
    staff_alerts: list[Email] = []
    # No staff: names in notices are taken as written and the roster/shift checks are skipped.
    staff: list[StaffEntry] = []
    menus: list[MenuEntry] = []
    hours: ShopHours = ShopHours()
    holidays: list[date] = []  # closed (or `hours.holiday`) on these dates: 年末年始, 臨時休業, 祝日
    shifts: str | None = None  # shift table, CSV or TOML; edit with `mailgate shifts set`

    @field_validator("staff")
    @classmethod
    def _distinct_staff(cls, v: list[StaffEntry]) -> list[StaffEntry]:
        from mailgate.times import name_key

        owner: dict[str, str] = {}
        for entry in v:
            for text in (entry.name, *entry.aliases):
                key = name_key(text)
                if owner.setdefault(key, entry.name) != entry.name:
                    raise ValueError(
                        f"distinct names and aliases ({text!r} is {owner[key]}'s and {entry.name}'s)"
                    )
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Asia/Tokyo") from None
        return v


class AuthnSection(_Section):
    dns_overrides: str | None = None
    trusted_forwarders: list[Email] = []


class NoticesSection(_Section):
    # A change or cancel whose booking has not arrived waits this long, then an operator must look.
    defer_hours: float = Field(72, gt=0)
    # When staff get the evening list of the day's inquiries that did not become bookings.
    digest_at: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "19:00"


class SmtpSection(_Section):
    listen: HostPort = "127.0.0.1:2525"


class WebSection(_Section):
    listen: HostPort = "127.0.0.1:8025"
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("a URL starting with http:// or https://")
        return v.rstrip("/") if v else v


class DbSection(_Section):
    url: str | None = None  # None: SQLite at var/mailgate.db


class OutboundSection(_Section):
    relay: str | None = None  # None: write to the var/outbox Maildir
    sender: Email | None = None  # From: of our replies; default the signup address
    dkim_key: str | None = None
    dkim_selector: str = "mg"
    dkim_domain: str | None = None


class LinksSection(_Section):
    # Newest last: it signs, all verify (rotation).
    secrets: list[Annotated[str, Field(min_length=16)]] = []
    register_hours: float = Field(72, gt=0)
    settings_hours: float = Field(24, gt=0)
    pin_attempts: int = Field(5, gt=0)
    lock_minutes: int = Field(30, gt=0)


class PathsSection(_Section):
    var: str = "var"
    rules: str | None = None
    templates: str | None = None


ImapSecurity = Literal["tls", "starttls", "none"]
ImapAfter = Literal["flag", "move"]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAP_ATOM = re.compile(r'^[^\s(){%*"\\\]\x00-\x1f\x7f]+$')  # a keyword: an IMAP atom
_SYSTEM_FLAGS = {"\\seen": "\\Seen", "\\flagged": "\\Flagged"}


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ImapSection(_Section):
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
        if v == "none" and host is not None and not _is_loopback(host):
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


class RawConfig(_Section):
    mail: MailSection = MailSection()
    shop: ShopSection = ShopSection()
    authn: AuthnSection = AuthnSection()
    notices: NoticesSection = NoticesSection()
    smtp: SmtpSection = SmtpSection()
    web: WebSection = WebSection()
    db: DbSection = DbSection()
    outbound: OutboundSection = OutboundSection()
    links: LinksSection = LinksSection()
    paths: PathsSection = PathsSection()
    imap: ImapSection | None = None  # None: no mailbox to read


@dataclass(frozen=True)
class Config:
    """The validated configuration plus the paths it resolves to."""

    raw: RawConfig
    source: Path | None
    var_dir: Path
    rules_dir: Path
    templates_dir: Path
    smtp_listen: tuple[str, int]
    web_listen: tuple[str, int]

    @property
    def mail(self) -> MailSection:
        return self.raw.mail

    @property
    def shop(self) -> ShopSection:
        return self.raw.shop

    @property
    def links(self) -> LinksSection:
        return self.raw.links

    @property
    def outbound(self) -> OutboundSection:
        return self.raw.outbound

    @property
    def authn(self) -> AuthnSection:
        return self.raw.authn

    @property
    def imap(self) -> ImapSection | None:
        return self.raw.imap

    @property
    def notices(self) -> NoticesSection:
        return self.raw.notices

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.raw.shop.timezone)

    @property
    def spool_dir(self) -> Path:
        return self.var_dir / "spool"

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def db_url(self) -> str:
        return self.raw.db.url or f"sqlite:///{self.var_dir / 'mailgate.db'}"

    @property
    def base_url(self) -> str:
        if self.raw.web.base_url:
            return self.raw.web.base_url
        host, port = self.web_listen
        return f"http://{host}:{port}"

    @property
    def sender(self) -> str:
        return self.raw.outbound.sender or self.raw.mail.signup

    @property
    def dkim_key_path(self) -> Path | None:
        key = self.raw.outbound.dkim_key
        return self.resolve(key) if key else None

    @property
    def dkim_domain(self) -> str:
        return self.raw.outbound.dkim_domain or self.sender.rsplit("@", 1)[1].lower()

    @property
    def dns_overrides_path(self) -> Path | None:
        p = self.raw.authn.dns_overrides
        return self.resolve(p) if p else None

    def resolve(self, path: str) -> Path:
        base = self.source.parent if self.source else Path.cwd()
        return (base / os.path.expanduser(path)).resolve()

    def is_local(self, addr: str) -> bool:
        domain = addr.rpartition("@")[2].lower()
        return domain in self.raw.mail.domains


def shipped_dir(name: str) -> Path:
    """The templates or rules installed with mailgate (the top-level directory of that name in the
    source tree: an editable install reads it there)."""
    found = importlib.resources.files(f"mailgate.shipped.{name}")
    # A wheel or editable install keeps the files on disk; a zipped one would need a copy made.
    if not isinstance(found, Path):
        raise ConfigError(f"mailgate's {name} are not in a directory ({found}): set [paths] {name}")
    return found


def _split_hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


def _format_errors(source: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        key = f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else f"[{loc[0]}]" if loc else "(top level)"
        if e["type"] == "extra_forbidden":
            what = "unknown key (check the spelling; `mailgate init` writes every key with a comment)"
        elif e["type"] == "string_pattern_mismatch":
            what = f"expected {_pattern_hint(loc[-1])}, got {e.get('input')!r}"
        else:
            what = f"expected {e['msg'].removeprefix('Value error, ')}, got {e.get('input')!r}"
        lines.append(f"{source}: {key}: {what}")
    return "\n".join(lines)


def _pattern_hint(key: str) -> str:
    hints = {"listen": "HOST:PORT such as 127.0.0.1:2525", "digest_at": "HH:MM such as 19:00"}
    return hints.get(key, "an email address such as signup@shop.example")


def load(
    path: Path | None = None,
    *,
    var: str | None = None,
    smtp: str | None = None,
    http: str | None = None,
) -> Config:
    """Read the file (or the defaults), apply command-line overrides, validate, resolve paths."""
    if path is None and os.environ.get("MAILGATE_CONFIG"):
        path = Path(os.environ["MAILGATE_CONFIG"])
    data: dict = {}
    source = "defaults"
    if path is not None:
        path = path.resolve()
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file (create one with `mailgate init`)") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    overrides = {("paths", "var"): var, ("smtp", "listen"): smtp, ("web", "listen"): http}
    for (section, key), value in overrides.items():
        if value is not None:
            data.setdefault(section, {})[key] = value
    try:
        raw = RawConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(source, e)) from None
    base = Path.cwd() if path is None else path.parent
    var_dir = (base / raw.paths.var).resolve()
    for addr_key in ("signup", "notices"):
        addr = getattr(raw.mail, addr_key)
        if addr.rpartition("@")[2].lower() not in raw.mail.domains:
            raise ConfigError(
                f"{source}: [mail] {addr_key}: expected an address in one of [mail] domains, got {addr!r}"
            )
    return Config(
        raw=raw,
        source=path,
        var_dir=var_dir,
        rules_dir=(base / raw.paths.rules).resolve() if raw.paths.rules else shipped_dir("rules"),
        templates_dir=(base / raw.paths.templates).resolve()
        if raw.paths.templates
        else shipped_dir("templates"),
        smtp_listen=_split_hostport(raw.smtp.listen),
        web_listen=_split_hostport(raw.web.listen),
    )
