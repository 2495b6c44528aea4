"""The sections of mailgate.toml other than [imap]: their keys, defaults and checks."""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

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


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
HostPort = Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$")]


class MailSection(Section):
    domains: list[str] = ["shop.example"]
    signup: Email = "signup@shop.example"
    notices: Email = "notices@shop.example"
    # Customers book here by mail alone; each answer's replies come back to book+KEY@ (its own address).
    # Default: book@ the first of `domains`.
    book: Email = "book@shop.example"
    max_size: int = Field(10 * 1024 * 1024, gt=0)
    carrier_domains: list[str] = DEFAULT_CARRIERS
    # Automatic replies to unknown or unverified senders (blank mails); mail owed to a customer who
    # acted through a link is not counted. Per mailbox (victim+a@x. is victim@x), per SMTP client,
    # and all together; new customers (registration links) per client and all together.
    replies_per_hour: int = Field(5, ge=0)
    # ISO-2022-JP mail may write 髙 as 高, 﨑 as 崎 (else a mail with such a name goes in UTF-8).
    jis_kanji_substitutes: bool = False
    replies_per_client_hour: int = Field(30, ge=0)
    replies_total_hour: int = Field(300, ge=0)
    new_customers_per_client_hour: int = Field(20, ge=0)
    new_customers_total_hour: int = Field(100, ge=0)
    # A repeated blank mail gets the same still-valid link again, this far apart, this often a day.
    link_resend_minutes: int = Field(10, ge=0)
    link_mails_per_day: int = Field(3, ge=1)
    # CPU one message may take to be read (parse, signatures, rules); past it, it is `failed`.
    read_cpu_seconds: int = Field(30, gt=0)
    # Local part of the return path: each mail goes out with MAIL FROM bounce+<signed token>@ the
    # sender's domain, so a delivery report names the mail it is about.
    bounce: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=40)] = "bounce"
    # Temporary failures (mailbox full) to one address that count as a hard bounce, within this window.
    soft_bounces: int = Field(3, ge=1)
    soft_bounce_days: int = Field(14, ge=1)

    @field_validator("domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one domain")
        return [d.lower() for d in v]

    @model_validator(mode="before")
    @classmethod
    def _book_in_first_domain(cls, data: Any) -> Any:
        domains = data.get("domains") if isinstance(data, dict) else None
        if isinstance(data, dict) and "book" not in data and isinstance(domains, list) and domains:
            return {**data, "book": f"book@{str(domains[0]).lower()}"}
        return data

    @model_validator(mode="after")
    def _bounce_is_its_own(self) -> MailSection:
        taken = {a.rpartition("@")[0].lower() for a in (self.signup, self.notices, self.book)}
        if self.bounce in taken:
            raise ValueError(f"bounce: {self.bounce!r} is the local part of another address of the shop")
        return self

    @field_validator("book")
    @classmethod
    def _untagged(cls, v: str) -> str:
        if "+" in v.rpartition("@")[0]:
            raise ValueError("an address without '+' (book+KEY@ are its replies' addresses)")
        return v


def _hours_value(v: str) -> str:
    from mailgate.times import parse_hours

    try:
        parse_hours(v)
    except ValueError as e:
        order = " (an end other than the start)" if "end" in str(e) else ""
        raise ValueError(f'HH:MM-HH:MM or "closed"{order}') from None
    return v


HoursValue = Annotated[str, AfterValidator(_hours_value)]


class StaffEntry(Section):
    name: Annotated[str, Field(min_length=1)]
    aliases: list[str] = []  # the name as vendors write it: "さとう", "Sato", "佐藤 先生"


def _deadline(v: str) -> str:
    from mailgate.deadlines import check

    return check(v)


Deadline = Annotated[str, AfterValidator(_deadline)]


class AddonEntry(Section):
    """An option booked with the menu (タオルレンタル) and how many of it the shop has."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    price: int = Field(0, ge=0)  # yen
    stock: int = Field(1, ge=1)  # never more handed out at once than this


class QuestionEntry(Section):
    """A question asked when the menu is booked (初めてですか, ご要望): its answer is kept on the booking."""

    text: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["choice", "checkbox", "text"] = "text"  # one of options, any of them, or words
    options: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    required: bool = False

    @model_validator(mode="after")
    def _options(self) -> QuestionEntry:
        if self.kind != "text" and not self.options:
            raise ValueError(f"a {self.kind} question needs options")
        return self


class MenuEntry(Section):
    name: Annotated[str, Field(min_length=1)]
    aliases: list[str] = []
    minutes: int = Field(60, gt=0)
    buffer: int = Field(0, ge=0)  # minutes kept free after it
    price: int = Field(0, ge=0)  # yen
    kind: Literal["free", "slots"] = "free"  # a start on the grid, or the shop's fixed slots
    confirm: Literal["instant", "tentative", "application"] = "instant"
    grid: int = Field(15, gt=0, le=240)  # minutes between the starts offered
    ahead_days: int = Field(60, ge=0)  # how far ahead one may book
    book_until: Deadline = "0"  # "0" (the start), "90m", "2h", "1d18:00" (the day before at 18:00)
    change_until: Deadline = "0"
    cancel_until: Deadline = "0"
    staff: list[str] = []  # who can do it (names from [shop] staff); [] = everyone
    reminders: list[Deadline] | None = None  # reminder offsets, like book_until; None: [booking]'s
    addons: list[AddonEntry] = []  # options booked with it, each with its own stock
    questions: list[QuestionEntry] = []  # asked when it is booked


class ShopHours(Section):
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


class ShopSection(Section):
    name: str = "デモ整体院"
    timezone: str = "Asia/Tokyo"
    phone: str = ""  # given to customers when it is too late to change or cancel by link or mail
    staff_alerts: list[Email] = []
    # Alerts to staff_alerts go at most once per this many minutes, grouped in one mail (0: each at once).
    staff_alert_minutes: int = Field(10, ge=0)
    # No staff: names in notices are taken as written and the roster/shift checks are skipped.
    staff: list[StaffEntry] = []
    menus: list[MenuEntry] = []
    hours: ShopHours = ShopHours()
    holidays: list[date] = []  # closed (or `hours.holiday`) on these dates: 年末年始, 臨時休業, 祝日
    # Japanese public holidays (祝日): "as_usual" (the weekday's hours) or "holiday" (like `holidays`).
    public_holidays: Literal["as_usual", "holiday"] = "as_usual"
    shifts: str | None = None  # shift table, CSV or TOML, read by `mailgate shop import`

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


class AuthnSection(Section):
    dns_overrides: str | None = None
    trusted_forwarders: list[Email] = []


class NoticeBinding(Section):
    """[notices.bind.SOURCE]: which of a source's genuine notices are this shop's. Each list that is
    set must match; a notice that does not is held."""

    recipients: list[Email] = []  # the addresses the shop gave the vendor: the signed To names one
    names: list[Annotated[str, Field(min_length=2)]] = []  # shop name or vendor account id, in the text
    # Only these sender addresses ("noreply@coubic.com", or "*@stores.jp" for a whole domain).
    senders: list[Annotated[str, Field(pattern=r"^[^@\s]*@[^@\s]+$")]] = []


class NoticesSection(Section):
    # A change or cancel whose booking has not arrived waits this long, then an operator must look.
    defer_hours: float = Field(72, gt=0)
    # When staff get the evening list of the day's inquiries that did not become bookings.
    digest_at: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "19:00"
    bind: dict[str, NoticeBinding] = {}


class ReportSection(Section):
    # When staff ([shop] staff_alerts) get the morning report, shop time ("08:30"); "" sends none.
    morning_at: Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d)?$")] = ""


IpAddress = Annotated[str, AfterValidator(lambda v: str(ipaddress.ip_address(v)))]


class SmtpSection(Section):
    listen: HostPort = "127.0.0.1:2525"
    # Limits sized like Postfix's: default_process_limit, smtpd_client_connection_count_limit,
    # smtpd_recipient_limit, smtpd_timeout. A client is the original one a front MTA names.
    max_connections: int = Field(100, gt=0)
    max_connections_per_client: int = Field(50, gt=0)
    max_messages_per_connection: int = Field(50, gt=0)
    max_messages_per_client_minute: int = Field(30, gt=0)
    max_recipients: int = Field(1000, gt=0)
    max_refused_recipients: int = Field(20, gt=0)  # in one connection: smtpd_hard_error_limit
    command_seconds: int = Field(300, gt=0)
    # Front MTAs that may name the original client (XCLIENT, XFORWARD).
    front_mtas: list[IpAddress] = []


class WebSection(Section):
    listen: HostPort = "127.0.0.1:8025"
    base_url: str | None = None
    max_connections: int = Field(100, gt=0)
    max_connections_per_client: int = Field(50, gt=0)
    # A request's headers and body must have arrived this long after it began.
    request_seconds: int = Field(30, gt=0)
    # Reverse proxies whose X-Forwarded-For names the original client.
    trusted_proxies: list[IpAddress] = []

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("a URL starting with http:// or https://")
        return v.rstrip("/") if v else v


class DbSection(Section):
    url: str | None = None  # None: SQLite at var/mailgate.db


class OutboundSection(Section):
    relay: str | None = None  # None: write to the var/outbox Maildir
    sender: Email | None = None  # From: of our replies; default the signup address
    dkim_key: str | None = None
    dkim_selector: str = "mg"
    dkim_domain: str | None = None


class LinksSection(Section):
    # Newest last: it signs, all verify (rotation).
    secrets: list[Annotated[str, Field(min_length=16)]] = []
    register_hours: float = Field(72, gt=0)
    settings_hours: float = Field(24, gt=0)
    pin_attempts: int = Field(5, gt=0)  # wrong PINs in a row that lock the account
    lock_minutes: int = Field(30, gt=0)  # the first lock; each one in a row twice as long
    lock_max_hours: float = Field(24, gt=0)
    pin_failures_per_link: int = Field(15, gt=0)  # wrong PINs a personal link takes before it is revoked


class RetentionSection(Section):
    # Raw mail (and the text of sent mail) older than this is purged; never a held or failed
    # message's. The message row stays, without personal fields: a late redelivery is a duplicate.
    raw_days: int = Field(90, gt=0)


class PathsSection(Section):
    var: str = "var"
    rules: str | None = None
    templates: str | None = None


def domain_part(addr: str) -> str:
    """The domain of a configured address, or of an envelope address checked against [mail] domains
    (mail/addresses.py parses addresses from mail; the configuration sits below it)."""
    return addr.rpartition("@")[2].strip().rstrip(".").lower()
