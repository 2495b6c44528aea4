"""`mailgate init`: a config that loads, a key, and DNS records that verify what the key signs."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from mailgate import config
from mailgate.cli import app
from mailgate.mail.dkim import DkimKey, sign
from tests.conftest import private
from tests.dkim_check import verify
from tests.shop.helpers import db_calendar


def invoke(args: list[str]) -> Result:
    """The command in-process (Typer's runner)."""
    return CliRunner().invoke(app, args)


def test_init_writes_a_loadable_config_a_private_key_and_prints_dns_records(tmp_path: Path) -> None:
    done = invoke(
        [
            "init",
            "--dir",
            str(tmp_path),
            "--domain",
            "seitai.example.jp",
            "--name",
            "JITANBODY整体院",
        ]
    )
    assert done.exit_code == 0, done.stderr
    cfg = config.load(tmp_path / "mailgate.toml")
    assert cfg.mail.signup == "signup@seitai.example.jp" and cfg.shop.name == "JITANBODY整体院"
    assert cfg.dkim_key_path == tmp_path / "dkim-mg.pem"
    assert stat.S_IMODE(cfg.dkim_key_path.stat().st_mode) == 0o600
    assert len(cfg.links.secrets) == 1 and len(cfg.links.secrets[0]) >= 32
    cal = db_calendar(cfg)  # the demo calendar: two staff, three menus, closed on Tuesdays
    assert cal.staff == ("佐藤", "田中") and cal.staff_named("佐藤 先生") == "佐藤"
    assert cal.duration("整体 90分コース").seconds == 90 * 60
    assert cal.opening(date(2026, 12, 1)) is None and cal.has_hours

    txt_line = next(x for x in done.stdout.splitlines() if "mg._domainkey.seitai.example.jp." in x)
    txt = txt_line.split("TXT", 1)[1].strip()
    assert txt.startswith("v=DKIM1; k=rsa; p=")
    assert "v=spf1" in done.stdout
    key = DkimKey("seitai.example.jp", "mg", cfg.dkim_key_path.read_bytes())
    msg = b"From: signup@seitai.example.jp\r\nTo: a@example.jp\r\nSubject: t\r\n\r\nbody\r\n"
    assert verify(sign(msg, key), {"mg._domainkey.seitai.example.jp": txt})


def test_init_writes_the_config_and_key_owner_only_whatever_the_umask(
    tmp_path: Path, open_umask: None
) -> None:
    """The config holds the link secret: with it anyone can forge a settings link for any token."""
    done = invoke(["init", "--dir", str(tmp_path / "shop"), "--domain", "seitai.example.jp"])
    assert done.exit_code == 0, done.stderr
    assert private(tmp_path / "shop" / "mailgate.toml") and private(tmp_path / "shop" / "dkim-mg.pem")


def test_init_does_not_overwrite_an_existing_shop(tmp_path: Path) -> None:
    (tmp_path / "mailgate.toml").write_text("# mine\n")
    done = invoke(["init", "--dir", str(tmp_path)])
    assert done.exit_code == 1 and "exists" in done.stderr
    assert (tmp_path / "mailgate.toml").read_text() == "# mine\n"


def test_a_config_error_stops_the_cli_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "mailgate.toml"
    bad.write_text('[smtp]\nlisten = "everywhere"\n[paths]\nvar = "var"\n')
    done = invoke(["--config", str(bad), "serve"])
    assert done.exit_code == 1
    assert f"{bad}: [smtp] listen: expected HOST:PORT" in done.stderr
    assert not (tmp_path / "var").exists()
