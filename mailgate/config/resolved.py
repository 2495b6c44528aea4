"""Config: the validated sections of mailgate.toml plus the paths they resolve to."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from mailgate.config.booking import BookingSection
from mailgate.config.imap import ImapSection
from mailgate.config.sections import (
    AuthnSection,
    DbSection,
    LinksSection,
    MailSection,
    NoticesSection,
    OutboundSection,
    PathsSection,
    ReportSection,
    RetentionSection,
    Section,
    ShopSection,
    SmtpSection,
    WebSection,
    domain_part,
)


class RawConfig(Section):
    mail: MailSection = MailSection()
    shop: ShopSection = ShopSection()
    authn: AuthnSection = AuthnSection()
    notices: NoticesSection = NoticesSection()
    report: ReportSection = ReportSection()
    smtp: SmtpSection = SmtpSection()
    web: WebSection = WebSection()
    db: DbSection = DbSection()
    outbound: OutboundSection = OutboundSection()
    links: LinksSection = LinksSection()
    retention: RetentionSection = RetentionSection()
    paths: PathsSection = PathsSection()
    booking: BookingSection = BookingSection()
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
    def report(self) -> ReportSection:
        return self.raw.report

    @property
    def booking(self) -> BookingSection:
        return self.raw.booking

    @property
    def retention(self) -> RetentionSection:
        return self.raw.retention

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
    def bounce_domain(self) -> str:
        """Where delivery reports come back: the sender's domain when its mail comes here (SPF and
        DMARC align), else the first of [mail] domains."""
        domain = domain_part(self.sender)
        return domain if domain in self.raw.mail.domains else self.raw.mail.domains[0]

    def is_bounce_address(self, addr: str) -> bool:
        """bounce@ or bounce+TOKEN@ the bounce domain ([mail] bounce is the local part)."""
        local, at, domain = addr.lower().rpartition("@")
        return (
            bool(at)
            and domain.rstrip(".") == self.bounce_domain
            and local.partition("+")[0] == self.raw.mail.bounce
        )

    @property
    def dkim_key_path(self) -> Path | None:
        key = self.raw.outbound.dkim_key
        return self.resolve(key) if key else None

    @property
    def dkim_domain(self) -> str:
        return self.raw.outbound.dkim_domain or domain_part(self.sender)

    @property
    def dns_overrides_path(self) -> Path | None:
        p = self.raw.authn.dns_overrides
        return self.resolve(p) if p else None

    def resolve(self, path: str) -> Path:
        base = self.source.parent if self.source else Path.cwd()
        return (base / os.path.expanduser(path)).resolve()

    def is_local(self, addr: str) -> bool:
        return domain_part(addr) in self.raw.mail.domains
