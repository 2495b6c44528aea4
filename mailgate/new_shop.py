"""`mailgate init`: a commented mailgate.toml for a new shop, a DKIM key, and the DNS records to publish."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mailgate.files import write_private
from mailgate.mail.dkim import DkimKey, dns_record, generate_private_key

TEMPLATE = """\
# mailgate configuration for {name}. Relative paths are relative to this file.
# Check it with: mailgate --config {config_name} rules check

[mail]
# Mail for any other domain is refused with 550 (never an open relay).
domains = ["{domain}"]
# A blank mail (空メール) here starts a registration; print its QR code with `mailgate qr`.
signup = "signup@{domain}"
# Staff forward vendor notices (STORES予約, SALON BOARD, ...) here.
notices = "notices@{domain}"
# Registered customers book here by mail alone (a day such as "12/5 午後 整体", or nothing); every
# answer asks for its reply at an address of its own, book+KEY@{domain}, which is accepted too.
book = "book@{domain}"
# Larger messages are refused with 552.
max_size = 10485760
# Automatic replies to unknown senders (blank mails), an hour: per mailbox (Taro+a@x. counts as
# taro@x), per SMTP client, and in all; and new customers per client and in all. Mail owed to a
# customer (a confirmation after the registration form) is not counted.
replies_per_hour = 5
replies_per_client_hour = 30
replies_total_hour = 300
new_customers_per_client_hour = 20
new_customers_total_hour = 100
# A repeated blank mail gets the same still-valid link again: this many minutes apart, this often a day.
link_resend_minutes = 10
link_mails_per_day = 3
# CPU seconds one message may take to be read (parsed, its signatures checked, the rules run), in
# a child process; past it the message is `failed` with the reason and SMTP and the pages never wait.
read_cpu_seconds = 30
# Every mail goes out with its own return path, bounce+<signed token>@{domain}: a delivery report
# (also docomo's, au's and SoftBank's plain-text ones) finds the mail it is about. A hard bounce
# (user unknown) marks the customer unreachable (`mailgate customers --unreachable`) and no
# automatic mail goes to them until they write in or register again; soft ones (mailbox full) do
# so after soft_bounces of them within soft_bounce_days.
bounce = "bounce"
soft_bounces = 3
soft_bounce_days = 14
# Recipients here get ISO-2022-JP mail; the built-in list covers docomo, au, SoftBank, Y!mobile, ...
# carrier_domains = ["docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp"]
# ISO-2022-JP lacks 髙, 﨑 and other name kanji: a mail with one goes in UTF-8 so the name stays exact.
# true writes them in their standard forms (髙→高, 﨑→崎) and keeps such mail in ISO-2022-JP.
jis_kanji_substitutes = false

[shop]
# Staff, menus, hours, holidays and shifts below are read into the database when it is first used,
# and again only by `mailgate shop import`: after that the database counts (`mailgate shifts`).
name = "{name}"
# Every time below (hours, shifts, bookings) is a wall-clock time here.
timezone = "Asia/Tokyo"
# Given to customers when it is too late to change or cancel by link, page or mail (お電話で).
# phone = "03-0000-0000"
# Double bookings and bookings outside hours or shifts are mailed here (they are still recorded).
# staff_alerts = ["owner@{domain}"]
# The first alert goes at once; more within this many minutes wait and go together in one mail (0: each
# at once).
staff_alert_minutes = 10
# Staff, and the other ways vendors write their names (spaces, full/half width, case and
# hiragana/katakana do not matter). With no staff listed, names are taken as written and
# shifts are not checked.
staff = [
  {{ name = "佐藤", aliases = ["さとう", "Sato", "佐藤 先生"] }},
  {{ name = "田中", aliases = ["たなか", "Tanaka"] }},
]
# Menus and how long they take: a notice without an end time gets the menu's minutes (else 60).
# Each may also say: buffer (minutes kept free after it), price (yen), grid (minutes between the
# starts offered, 15), confirm ("instant", "tentative": 仮予約 confirmed by its link, "application":
# 仮申込), book_until / change_until / cancel_until ("0" until the start, "90m", "2h", "1d18:00" for
# 前日18:00まで), ahead_days (how far ahead, 60), staff (who can do it; all when left out),
# reminders (offsets in the same words: ["1d18:00", "2h"]; [] for none; left out: [booking] reminders),
# addons (options booked with it, each with its own stock, never more handed out at once than exist:
# [{{ name = "タオルレンタル", price = 200, stock = 3 }}]), questions (asked on the booking page, the
# answers shown to staff: [{{ text = "ご来店は初めてですか", kind = "choice", options = ["はい", "いいえ"],
# required = true }}]; kind "choice", "checkbox" or "text").
menus = [
  {{ name = "整体 60分コース", aliases = ["整体60分"], minutes = 60, buffer = 10, price = 6000 }},
  {{ name = "整体 90分コース", aliases = ["整体90分"], minutes = 90, buffer = 10, price = 8500 }},
  {{ name = "骨盤矯正", minutes = 45, price = 5000, cancel_until = "1d18:00", reminders = ["2h"] }},
]
# Japanese public holidays (祝日): "as_usual" (the weekday's hours) or "holiday" (like holidays below).
public_holidays = "as_usual"
# Closed on these dates (年末年始, 臨時休業, 祝日), or open [shop.hours] holiday if it is set.
holidays = [{year}-12-31, {next_year}-01-01, {next_year}-01-02, {next_year}-01-03]
# Who works when: a CSV (date,staff,start,end; mon..sun rows are the usual week) or TOML file, read
# with the rest; later `mailgate shifts set 佐藤 {year}-12-24 off` or `shifts import FILE`. Without
# one, staff work the shop's hours.
# shifts = "shifts.csv"

[shop.hours]
# HH:MM-HH:MM or "closed" (定休日), every weekday; delete the table to skip the hours check.
mon = "10:00-20:00"
tue = "closed"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "10:00-18:00"
sun = "10:00-18:00"
# holiday = "10:00-17:00"

[authn]
# JSON file of DKIM TXT records to use instead of DNS (tests, offline use).
# dns_overrides = "dns.json"
# Staff addresses allowed to forward vendor notices (attached or pasted inline), when their own
# mail authenticates.
trusted_forwarders = []

# Which vendor notices are this shop's, per rules file `source` (stores, salonboard, airreserve).
# Each list that is set must match or the notice is held; an unbound source applies any notice the
# vendor signed, whichever shop it names (serve and `rules check` warn).
# [notices.bind.stores]
# recipients = ["owner@{domain}"]           # the address(es) the shop gave the vendor: the notice's To
# names = ["{name}"]                        # shop name or account id, as the vendor writes it
# senders = ["noreply@coubic.com"]          # optional: only these senders ("*@stores.jp": a domain)

[smtp]
listen = "127.0.0.1:2525"
# What one client may do (the defaults are Postfix's where Postfix has one). Past a limit a client
# is told to try again later (421, 450, 452): nothing is lost. A client is its IP address, or the
# one a front MTA listed in front_mtas names (Postfix: smtp_send_xforward_command = yes).
max_connections = 100                 # at once, all clients (Postfix default_process_limit)
max_connections_per_client = 50       # smtpd_client_connection_count_limit
max_messages_per_connection = 50
max_messages_per_client_minute = 30
max_recipients = 1000                 # RCPTs in one message (smtpd_recipient_limit)
max_refused_recipients = 20           # then 421 and the connection closed (smtpd_hard_error_limit)
command_seconds = 300                 # silence before a connection is closed (smtpd_timeout)
# front_mtas = ["192.0.2.25"]

[web]
listen = "127.0.0.1:8025"
# The address customers' phones reach; keep it short: links are this plus about 50 characters and
# must stay under 120 (`serve` warns when they would not).
# base_url = "https://{domain}"
# Run the pages behind a reverse proxy (nginx, README); these keep mailgate standing without one.
max_connections = 100
max_connections_per_client = 50
request_seconds = 30                  # for a request's headers and body to arrive
# The reverse proxies whose X-Forwarded-For names the client.
# trusted_proxies = ["127.0.0.1"]

[db]
# Default: SQLite at var/mailgate.db. PostgreSQL: "postgresql+psycopg://user@host:5432/mailgate"
# url = ""

[outbound]
# Default: replies are written to the Maildir var/outbox/. Set a relay to send for real;
# smtps:// for implicit TLS; credentials come from MAILGATE_RELAY_USER / MAILGATE_RELAY_PASSWORD and
# go over TLS only (a relay on this host without TLS: "smtp://127.0.0.1:25?plaintext_auth=loopback").
# relay = "smtp://127.0.0.1:25"
sender = "signup@{domain}"
dkim_key = "{key_name}"
dkim_selector = "{selector}"
dkim_domain = "{domain}"

[links]
# Newest last: the last secret signs, all of them verify. Add a new one at the end to rotate.
# They also key the stored PINs: removing a secret makes the PINs still made under it unusable.
secrets = ["{secret}"]
register_hours = 72
settings_hours = 24
# Wrong PINs in a row lock the account for lock_minutes, each lock in a row twice as long (at most
# lock_max_hours); a personal link that took pin_failures_per_link wrong PINs is revoked (a blank
# mail brings a new one). The customer gets a mail at every lock.
pin_attempts = 5
lock_minutes = 30
lock_max_hours = 24
pin_failures_per_link = 15

# Read vendor notices from a mailbox too (Gmail, Microsoft 365): each message is stored, then
# flagged or moved, never deleted. The password (Gmail: an app password) is read from the variable
# named by password_env; oauth2_token_env or oauth2_token_file log in with XOAUTH2 instead.
# [imap]
# host = "imap.gmail.com"
# username = "shop@gmail.com"
# security = "tls"                          # "starttls" (port 143); "none" only on 127.0.0.1
# password_env = "MAILGATE_IMAP_PASSWORD"
# folder = "INBOX"
# after = "flag"                            # or "move", with move_to = "mailgate"
# flag = "$MailgateStored"                  # Microsoft 365 keeps no keywords: "\\\\Flagged"
# idle_seconds = 300

[booking]
# A tentative booking (仮予約: a guest's, or a menu's with confirm = "tentative") holds its seat this
# many minutes for the confirm link mailed at once; then the seat is free again.
tentative_minutes = 30
# Per customer, checked as the booking is made (0: no limit): bookings not yet over, on one day, in
# one month.
max_open = 5
max_per_day = 2
max_per_month = 8
# The booking pages after the PIN on the personal link stay open this long (no cookies: the pages
# carry a signed link of their own).
session_minutes = 60
# Guests (not registered) may book on the public page (/book): a tentative hold confirmed by mail.
guests = true
# Open guest holds per mailbox (Taro+a@x counts as taro@x), per web client (the connecting address:
# behind a reverse proxy every guest is the proxy, so raise it or set 0) and in all; 0: no limit.
guest_holds_per_email = 1
guest_holds_per_client = 3
guest_holds_total = 20
# Also mail the customer a vendor's change or cancel (the vendor mails them too).
notify_vendor_changes = false
# Reminder mails before confirmed bookings made through mailgate (not vendors' bookings: the vendor
# reminds those), at offsets in the deadline words: "1d18:00" the day before at 18:00, "2h" two hours
# before; a menu's own `reminders` replace these. Each goes once per booking (a moved booking is
# reminded of its new time). [] (the default): none.
reminders = ["1d18:00"]
# A reminder whose moment passed while mailgate was down still goes this long after it ("90m", "6h",
# "1d"); older ones are skipped.
reminder_catch_up = "6h"
# A full time has a waitlist (キャンセル待ち: on its page, or 「待つ」 in reply to 「ちょうど埋まりました」).
# A seat that frees is held this many minutes for the first one waiting, with a claim link by mail;
# unclaimed, it passes to the next one.
waitlist_offer_minutes = 30

[report]
# At this shop time staff ([shop] staff_alerts) get one mail before opening: the day's bookings per
# staff member, new conflicts, held messages and open inquiries. "" sends none; `mailgate report
# morning` prints it any time.
morning_at = ""

[retention]
# Raw mail older than this many days is purged (and the text of sent mail), never a held or failed
# message's; see what would go with `mailgate purge --dry-run`. 退会 erases a customer at once.
raw_days = 90

[paths]
var = "var"
# Default: the rules and templates installed with mailgate. To change them, copy the directories
# (`mailgate serve` prints where they are) and point these at the copies.
# rules = "rules"
# templates = "templates"
"""


@dataclass(frozen=True)
class InitResult:
    config: Path
    key: Path
    records: list[tuple[str, str, str]]  # (name, type, value)


def init(
    directory: Path,
    *,
    domain: str,
    name: str,
    selector: str = "mg",
    force: bool = False,
    today: date | None = None,
) -> InitResult:
    today = today or date.today()  # the demo holidays are the coming 年末年始
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "mailgate.toml"
    key_path = directory / f"dkim-{selector}.pem"
    for p in (config, key_path):
        if p.exists() and not force:
            raise FileExistsError(f"{p} exists (use --force to overwrite)")
    pem = generate_private_key()
    write_private(key_path, pem)
    # The link secret is in it: whoever reads it can forge a settings link for any customer.
    write_private(
        config,
        TEMPLATE.format(
            name=name,
            domain=domain,
            selector=selector,
            key_name=key_path.name,
            secret=secrets.token_urlsafe(32),
            config_name=config.name,
            year=today.year,
            next_year=today.year + 1,
        ).encode("utf-8"),
    )
    txt_name, txt_value = dns_record(DkimKey(domain=domain, selector=selector, private_pem=pem))
    records = [
        (txt_name, "TXT", txt_value),
        (domain, "TXT", "v=spf1 ip4:YOUR.SERVER.IP -all   (or include: your relay's SPF)"),
        (f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:postmaster@{domain}"),
        (domain, "MX", "10 your.mail.host."),
    ]
    return InitResult(config=config, key=key_path, records=records)
