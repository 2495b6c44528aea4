"""mailgate.toml: read, validate, and resolve paths.

The sections are in `sections` and `imap`, the resolved Config in `resolved`, and reading the
file in `loading`; every public name is importable from here.
"""

from mailgate.config.booking import BookingSection
from mailgate.config.imap import ImapAfter, ImapSection, ImapSecurity
from mailgate.config.loading import ConfigError, load, shipped_dir
from mailgate.config.resolved import Config, RawConfig
from mailgate.config.sections import (
    DEFAULT_CARRIERS,
    AuthnSection,
    DbSection,
    Email,
    HostPort,
    HoursValue,
    LinksSection,
    MailSection,
    MenuEntry,
    NoticeBinding,
    NoticesSection,
    OutboundSection,
    PathsSection,
    ShopHours,
    ShopSection,
    SmtpSection,
    StaffEntry,
    WebSection,
)

__all__ = [
    "DEFAULT_CARRIERS",
    "AuthnSection",
    "BookingSection",
    "Config",
    "ConfigError",
    "DbSection",
    "Email",
    "HostPort",
    "HoursValue",
    "ImapAfter",
    "ImapSection",
    "ImapSecurity",
    "LinksSection",
    "MailSection",
    "MenuEntry",
    "NoticeBinding",
    "NoticesSection",
    "OutboundSection",
    "PathsSection",
    "RawConfig",
    "ShopHours",
    "ShopSection",
    "SmtpSection",
    "StaffEntry",
    "WebSection",
    "load",
    "shipped_dir",
]
