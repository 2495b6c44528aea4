"""mailgate.toml: read, validate, and resolve paths.

Every wrong or missing key is reported with the file, the key and what was expected, before anything
starts. Relative paths are relative to the config file (or to the working directory with no file).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

REPO_ROOT = Path(__file__).resolve().parent.parent

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


class ShopSection(_Section):
    name: str = "デモ整体院"
    timezone: str = "Asia/Tokyo"
    staff_alerts: list[Email] = []

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


class RawConfig(_Section):
    mail: MailSection = MailSection()
    shop: ShopSection = ShopSection()
    authn: AuthnSection = AuthnSection()
    smtp: SmtpSection = SmtpSection()
    web: WebSection = WebSection()
    db: DbSection = DbSection()
    outbound: OutboundSection = OutboundSection()
    links: LinksSection = LinksSection()
    paths: PathsSection = PathsSection()


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
    return (
        "HOST:PORT such as 127.0.0.1:2525"
        if key == "listen"
        else "an email address such as signup@shop.example"
    )


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
        rules_dir=(base / raw.paths.rules).resolve() if raw.paths.rules else REPO_ROOT / "rules",
        templates_dir=(base / raw.paths.templates).resolve()
        if raw.paths.templates
        else REPO_ROOT / "templates",
        smtp_listen=_split_hostport(raw.smtp.listen),
        web_listen=_split_hostport(raw.web.listen),
    )
