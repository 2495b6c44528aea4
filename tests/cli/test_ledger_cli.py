"""The operator's morning at the terminal: ingest notices, read the ledger, reconcile the day,
resolve a conflict, follow up an inquiry, replay what was held — through the real CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from mailgate.cli import app
from tests import notices
from tests.conftest import CORPUS, write_config
from tests.e2e.helpers import cli

SHOP = """staff_alerts = ["staff@shop.example"]
[[shop.staff]]
name = "佐藤"
[[shop.staff]]
name = "田中"
"""
AUTHN = f"""
[authn]
dns_overrides = "{CORPUS / "keys" / "dns.json"}"
trusted_forwarders = ["uketsuke@salon-mail.example"]
"""


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def run(config: Path, *args: str) -> Done:
    """The command in-process (Typer's runner), as an operator would type it."""
    done = CliRunner().invoke(app, ["--config", str(config), *args])
    return Done(done.exit_code, done.stdout, done.stderr)


def test_the_operators_morning(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "shop", AUTHN, shop=SHOP)
    drop = tmp_path / "drop"
    drop.mkdir()
    files = {
        "1-booked.eml": (CORPUS / "stores" / "booked-01.eml").read_bytes(),
        "2-clash.eml": notices.stores_booked(
            "999",
            "2026年12月03日 (木) 13:30 ~ 14:30",
            name="鈴木 花子",
            kana="スズキ ハナコ",
            email="h@example.jp",
            phone="080-1111-2222",
        ),
        "3-inquiry.eml": (CORPUS / "stores" / "inquiry-01.eml").read_bytes(),
        "4-forged.eml": (CORPUS / "spoofed" / "stores-booked-unsigned.eml").read_bytes(),
    }
    for name, raw in files.items():
        (drop / name).write_bytes(raw)
    done = run(cfg, "ingest", str(drop), "--rcpt", "notices@shop.example")
    assert done.returncode == 0, done.stderr

    booked = cli(cfg, "bookings", "--date", "2026-12-03")
    assert [(b["external_id"], b["staff"], bool(b["open_conflicts"])) for b in booked] == [
        ("87246923", "佐藤", False),
        ("999", "佐藤", True),
    ]
    received = datetime.fromisoformat(cli(cfg, "messages")[0]["received_at"])
    day = received.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()  # the shop's day, not UTC's
    verdicts = {(x["external_id"], x["verdict"]) for x in cli(cfg, "reconcile", "--received", day)}
    assert verdicts == {("87246923", "applied"), ("999", "conflict"), ("", "applied"), ("", "held")}

    [conflict] = cli(cfg, "conflicts")
    cid = conflict["conflict"]["id"]
    done = run(cfg, "conflicts", "resolve", str(cid), "--note", "田中さんに変更済み", "--operator", "sato")
    assert done.returncode == 0, done.stderr
    assert cli(cfg, "conflicts") == []
    assert run(cfg, "conflicts", "resolve", str(cid), "--note", "again").returncode == 1

    [inquiry] = cli(cfg, "inquiries")
    assert inquiry["kind"] == "booking_request" and inquiry["status"] == "open"
    done = run(
        cfg,
        "inquiries",
        "set",
        str(inquiry["id"]),
        "--status",
        "waiting",
        "--assignee",
        "田中",
        "--next",
        "2026-11-28",
    )
    assert done.returncode == 0, done.stderr
    assert cli(cfg, "inquiries", "--status", "waiting")[0]["assignee"] == "田中"
    assert "予約希望" not in run(cfg, "inquiries", "set", "99", "--status", "done").stdout
    assert run(cfg, "inquiries", "set", str(inquiry["id"]), "--status", "finished").returncode == 1

    held = cli(cfg, "messages", "--state", "held")
    assert len(held) == 1
    [dry] = cli(cfg, "replay", str(held[0]["id"]), "--dry-run")
    assert dry["now"]["state"] == "held" and not dry["applied"]
    text = run(cfg, "replay", "--state", "applied", "--dry-run").stdout
    assert "would be: applied (book) STORES 87246923 already applied by this message" in text
    assert len(cli(cfg, "bookings", "--all")) == 2

    audit = run(cfg, "audit", "--message", str(held[0]["id"] - 2))
    assert audit.returncode == 0 and "conflict_found" in audit.stdout


HANAKO = {"name": "鈴木 花子", "kana": "スズキ ハナコ", "email": "h@example.jp", "phone": "080-1111-2222"}


def ingest(cfg: Path, tmp_path: Path, *mails: bytes) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for i, raw in enumerate(mails):
        (drop / f"{i}.eml").write_bytes(raw)
    done = run(cfg, "ingest", str(drop), "--rcpt", "notices@shop.example")
    assert done.returncode == 0, done.stderr


def shop_days() -> set[str]:
    """Today in the shop's zone, as a command run a moment later may see it (midnight may pass)."""
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    return {now.date().isoformat(), (now + timedelta(minutes=5)).date().isoformat()}


def test_reconcile_date_is_the_appointment_day_and_it_says_which_day_it_uses(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "shop", AUTHN, shop=SHOP)
    ingest(
        cfg,
        tmp_path,
        (CORPUS / "stores" / "booked-01.eml").read_bytes(),  # 87246923 on 12/03 13:00
        notices.stores_booked("555", "2026年12月05日 (土) 10:00 ~ 11:00", **HANAKO),
        notices.stores_booked("556", "2026年12月10日 (木) 10:00 ~ 11:00", **HANAKO),
        notices.stores_changed(
            "556", "2026年12月10日 (木) 15:00 ~ 16:00", "2026年12月10日 (木) 10:00 ~ 11:00"
        ),
        (CORPUS / "stores" / "inquiry-01.eml").read_bytes(),  # about no appointment
    )
    # The README's own example: the notices about the appointments of 2026-12-03.
    assert [x["external_id"] for x in cli(cfg, "reconcile", "--date", "2026-12-03")] == ["87246923"]
    assert [x["external_id"] for x in cli(cfg, "reconcile", "--date", "2026-12-10")] == ["556", "556"]
    text = run(cfg, "reconcile", "--date", "2026-12-05").stdout.splitlines()
    assert text[0].startswith("notices about appointments on 2026-12-05;")
    assert any("555" in line and "APPLIED" in line for line in text) and text[-1] == "1 notices: 1 applied"

    [today] = {x for x in shop_days() if cli(cfg, "reconcile", "--received", x)}
    assert len(cli(cfg, "reconcile", "--received", today)) == 5
    received = run(cfg, "reconcile", "--received", today).stdout.splitlines()
    assert received[0].startswith(f"notices received on {today};")
    both = run(cfg, "reconcile", "--date", "2026-12-05", "--received", today)
    assert both.returncode == 2 and "not both" in both.stderr


def test_bookings_without_a_date_says_which_day_it_shows(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "shop", AUTHN, shop=SHOP)
    ingest(cfg, tmp_path, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    first = run(cfg, "bookings").stdout.splitlines()
    assert first[0] in {f"bookings on {d} (today)" for d in shop_days()}
    assert first[-1] in {f"no bookings on {d} (today)" for d in shop_days()}
    listed = run(cfg, "bookings", "--date", "2026-12-03").stdout.splitlines()
    assert listed[0] == "bookings on 2026-12-03" and any("87246923" in line for line in listed)
    assert listed[-1].strip() == "times in Asia/Tokyo"
    assert run(cfg, "bookings", "--date", "2026-12-04").stdout.splitlines() == [
        "bookings on 2026-12-04",
        "no bookings on 2026-12-04",
    ]
    assert run(cfg, "bookings", "--all").stdout.splitlines()[0] == "bookings of all days"


def test_cancelling_the_booking_a_conflict_clashed_with_leaves_no_open_conflict(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "shop", AUTHN, shop=SHOP)
    ingest(
        cfg,
        tmp_path,
        (CORPUS / "stores" / "booked-01.eml").read_bytes(),
        notices.stores_booked("999", "2026年12月03日 (木) 13:30 ~ 14:30", **HANAKO),
        (CORPUS / "stores" / "cancelled-01.eml").read_bytes(),  # cancels 87246923
    )
    assert cli(cfg, "conflicts") == []
    assert run(cfg, "conflicts").stdout.strip() == "no open conflicts"
    [booking] = [b for b in cli(cfg, "bookings", "--date", "2026-12-03") if b["status"] == "confirmed"]
    assert booking["external_id"] == "999" and not booking["open_conflicts"]
