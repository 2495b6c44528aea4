"""Vendor notices end to end: a real Dovecot mailbox polled by a real `mailgate serve`, forwards by
SMTP over a socket, the staff alert in the outbox Maildir, and a poller killed mid-mailbox."""

from __future__ import annotations

import signal
import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests import notices
from tests.conftest import CORPUS, start_serve, wait_for, write_config
from tests.dovecot import Dovecot, running_dovecot
from tests.e2e.helpers import cli, outbox_files, read_mail

pytestmark = pytest.mark.e2e  # starts real servers

STORED = b"$MailgateStored"
SHOP = """staff_alerts = ["staff@shop.example"]
[[shop.staff]]
name = "佐藤"
[[shop.staff]]
name = "田中"
"""


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as dc:
        yield dc


def shop_config(tmp_path: Path, dc: Dovecot) -> Path:
    extra = (
        f'\n[authn]\ndns_overrides = "{CORPUS / "keys" / "dns.json"}"\n'
        'trusted_forwarders = ["uketsuke@salon-mail.example"]\n'
        f'\n[imap]\nhost = "{dc.host}"\nport = {dc.port}\nsecurity = "none"\nusername = "{dc.user}"\n'
        'password_env = "MAILGATE_TEST_IMAP_PW"\nidle_seconds = 5\n'
    )
    return write_config(tmp_path / "shop", extra, shop=SHOP)


def append(dc: Dovecot, *messages: bytes) -> None:
    with dc.client() as c:
        for raw in messages:
            c.append("INBOX", raw)


def server_flags(dc: Dovecot) -> list[set[bytes]]:
    with dc.client() as c:
        c.select_folder("INBOX", readonly=True)
        found = c.get_flags(c.search("ALL"))
        return [set(found[uid]) for uid in sorted(found)]


def all_final(cfg: Path, count: int) -> bool:
    rows = cli(cfg, "messages", "--limit", "500")
    return len(rows) == count and all(m["state"] not in ("received", "processing") for m in rows)


def test_notices_in_the_mailbox_become_bookings_and_a_clash_alerts_staff(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    cfg = shop_config(tmp_path, dovecot)
    clash = notices.stores_booked(
        "88000001",
        "2026年12月03日 (木) 13:30 ~ 14:30",
        name="鈴木 花子",
        kana="スズキ ハナコ",
        email="hanako@example.ne.jp",
        phone="080-2222-3333",
    )
    append(
        dovecot,
        (CORPUS / "stores" / "booked-01.eml").read_bytes(),
        clash,
        (CORPUS / "salonboard" / "booked-01.eml").read_bytes(),
        (CORPUS / "airreserve" / "booked-01.eml").read_bytes(),
        (CORPUS / "spoofed" / "stores-booked-unsigned.eml").read_bytes(),
        (CORPUS / "spoofed" / "stores-cancel-tampered.eml").read_bytes(),
    )
    served = start_serve(cfg, env={"MAILGATE_TEST_IMAP_PW": dovecot.password})
    try:
        wait_for(lambda: all_final(cfg, 6), timeout=30)
        # The same notice forwarded by staff over SMTP, as an attachment: no second booking.
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
            s.sendmail(
                "uketsuke@salon-mail.example",
                ["notices@shop.example"],
                (CORPUS / "forwarded" / "stores-booked-attached.eml").read_bytes(),
            )
        wait_for(lambda: all_final(cfg, 7), timeout=30)
        wait_for(lambda: any("要確認" in read_mail(p)[1] for p in outbox_files(served.outbox)), timeout=30)
    finally:
        assert served.stop() == 0

    rows = cli(cfg, "bookings", "--all")
    assert sorted((b["source"], b["external_id"]) for b in rows) == [
        ("airreserve", "11Q3XETM2"),
        ("salonboard", "BE64275292"),
        ("stores", "87246923"),
        ("stores", "88000001"),
    ]
    # The two clashing notices are read side by side (a pool of readers): whichever is recorded
    # second is the conflict, one of them and only one.
    [late] = [b["external_id"] for b in rows if b["open_conflicts"]]
    assert late in ("88000001", "87246923")
    held = cli(cfg, "messages", "--state", "held")
    assert len(held) == 2 and all("not proven genuine" in m["reason"] for m in held)
    forwarded = cli(cfg, "messages")[0]
    assert forwarded["via"] == "smtp" and "STORES 87246923 already" in forwarded["reason"]
    # Every message was flagged on the server after it was stored; nothing was deleted.
    assert server_flags(dovecot) == [{STORED}] * 6
    [alert] = [p for p in outbox_files(served.outbox) if "要確認" in read_mail(p)[1]]
    msg, subject, body = read_mail(alert)
    assert msg["To"] == "staff@shop.example" and late in subject
    assert "佐藤さん" in body and "別の予約" in body


def test_a_poller_killed_mid_mailbox_loses_nothing_and_applies_nothing_twice(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    cfg = shop_config(tmp_path, dovecot)
    first = datetime(2026, 12, 1, 10, 0)
    batch = [
        notices.stores_booked(
            f"77{i:06d}",
            notices.jp_when(first + timedelta(days=i // 8, hours=i % 8)),
            staff="佐藤" if i % 2 else "田中",
        )
        for i in range(40)
    ]
    append(dovecot, *batch)
    env = {"MAILGATE_TEST_IMAP_PW": dovecot.password}
    served = start_serve(cfg, env=env)
    wait_for(lambda: len(cli(cfg, "messages", "--limit", "500")) > 0, timeout=30)
    served.stop(signal.SIGKILL)  # somewhere in the middle of the mailbox (or after: the result is the same)

    again = start_serve(cfg, env=env)
    try:
        wait_for(lambda: all_final(cfg, 40), timeout=60)
    finally:
        assert again.stop() == 0
    rows = cli(cfg, "bookings", "--all")
    assert len(rows) == 40 and len({b["external_id"] for b in rows}) == 40
    assert {m["state"] for m in cli(cfg, "messages", "--limit", "500")} == {"applied"}
    assert server_flags(dovecot) == [{STORED}] * 40
