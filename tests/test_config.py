from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailgate import config
from mailgate.cli import app
from mailgate.config import ConfigError
from mailgate.context import Context
from tests.conftest import CORPUS, SECRET, write_config


def test_defaults_serve_a_demo_shop_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILGATE_CONFIG", raising=False)
    cfg = config.load()
    assert cfg.smtp_listen == ("127.0.0.1", 2525)
    assert cfg.web_listen == ("127.0.0.1", 8025)
    assert cfg.db_url == f"sqlite:///{tmp_path / 'var' / 'mailgate.db'}"
    assert cfg.outbox_dir == tmp_path / "var" / "outbox"
    assert cfg.outbound.relay is None


def test_the_mailgate_toml_init_wrote_here_is_read_without_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILGATE_CONFIG", raising=False)
    done = CliRunner().invoke(app, ["init", "--name", "ここの整体院"])
    assert done.exit_code == 0 and "Start it: mailgate serve" in done.stdout
    assert config.load().shop.name == "ここの整体院"
    elsewhere = write_config(tmp_path / "other")
    monkeypatch.setenv("MAILGATE_CONFIG", str(elsewhere))
    assert config.load().source == elsewhere  # a named file wins over the one here


def test_corpus_config_keys_mean_what_the_corpus_says() -> None:
    cfg = config.load(CORPUS / "mailgate.toml")
    assert cfg.mail.signup == "signup@shop.example"
    assert cfg.mail.notices == "notices@shop.example"
    assert cfg.is_local("anyone@SHOP.example") and not cfg.is_local("x@other.example")
    assert cfg.dns_overrides_path == CORPUS / "keys" / "dns.json"
    assert cfg.authn.trusted_forwarders == ["uketsuke@salon-mail.example"]
    assert str(cfg.tz) == "Asia/Tokyo"


def test_command_line_overrides_win_and_links_follow_the_http_address(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[web]\nlisten = "127.0.0.1:9000"\n')
    cfg = config.load(path, smtp="127.0.0.1:2600", http="127.0.0.1:9100", var="/tmp/elsewhere")
    assert cfg.smtp_listen == ("127.0.0.1", 2600)
    assert cfg.base_url == "http://127.0.0.1:9100"
    assert cfg.var_dir == Path("/tmp/elsewhere")


def test_paths_replace_the_shipped_templates_and_rules_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shop" / "mailgate.toml"
    path.parent.mkdir()
    path.write_text('[paths]\nrules = "my-rules"\ntemplates = "../common/templates"\n', encoding="utf-8")
    cfg = config.load(path)
    assert cfg.rules_dir == tmp_path / "shop" / "my-rules"
    assert cfg.templates_dir == tmp_path / "common" / "templates"


def test_base_url_overrides_the_listen_address(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[web]\nbase_url = "https://s.example.jp/"\n')
    assert config.load(path, http="127.0.0.1:9100").base_url == "https://s.example.jp"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[smtp]\nlisten = "2525"\n', "[smtp] listen: expected HOST:PORT"),
        ('[mail]\nsignup = "not-an-address"\n', "[mail] signup: expected an email address"),
        (
            '[mail]\nsignup = "signup@elsewhere.example"\n',
            "[mail] signup: expected an address in one of [mail] domains",
        ),
        ('[shop]\ntimezone = "Tokyo"\n', "[shop] timezone: expected an IANA time zone"),
        ('[shop]\nnmae = "x"\n', "[shop] nmae: unknown key"),
        (
            '[shop.hours]\nmon = "10:00-20:00"\ntue = "10時から"\n',
            '[shop] hours.tue: expected HH:MM-HH:MM or "closed"',
        ),
        (
            '[shop.hours]\nmon = "20:00-20:00"\n',
            '[shop] hours.mon: expected HH:MM-HH:MM or "closed" (an end other than the start)',
        ),
        ('[shop.hours]\nmon = "10:00-20:00"\n', "[shop] hours: expected every weekday mon..sun"),
        ('[shop.hours]\nmonday = "10:00-20:00"\n', "[shop] hours.monday: unknown key"),
        ('[shop]\nholidays = ["12/31"]\n', "[shop] holidays.0: expected"),
        ('[shop]\nstaff = [{ aliases = ["さとう"] }]\n', "[shop] staff.0.name: expected"),
        (
            '[shop]\nstaff = [{ name = "佐藤", aliases = ["さとう"] },\n'
            '  { name = "田中", aliases = ["サトウ"] }]\n',
            "[shop] staff: expected distinct names and aliases ('サトウ' is 佐藤's and 田中's)",
        ),
        ('[shop]\nmenus = [{ name = "整体", minutes = 0 }]\n', "[shop] menus.0.minutes: expected"),
        ('[mail]\nmax_size = "big"\n', "[mail] max_size: expected"),
        ('[mail]\nbook = "book+x@shop.example"\n', "[mail] book: expected an address without '+'"),
        ('[mail]\nbook = "book@elsewhere.example"\n', "[mail] book: expected an address in one of"),
        ('[links]\nsecrets = ["short"]\n', "[links] secrets.0: expected"),
        ("[mail\n", "not valid TOML"),
    ],
)
def test_a_wrong_key_is_reported_with_file_key_and_expectation(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = tmp_path / "mailgate.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert str(path) in str(e.value)
    assert expected in str(e.value)


def test_a_missing_file_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "nope.toml")


@pytest.mark.parametrize("key", ["signup", "notices"])
def test_a_deleted_address_line_is_reported_as_missing_not_as_the_built_in_default(
    tmp_path: Path, key: str
) -> None:
    other = "notices" if key == "signup" else "signup"
    path = tmp_path / "mailgate.toml"
    path.write_text(f'[mail]\ndomains = ["example-seitai.jp"]\n{other} = "{other}@example-seitai.jp"\n')
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert f"{path}: [mail] {key}: missing" in str(e.value)
    assert f'{key} = "{key}@example-seitai.jp"' in str(e.value)
    assert "shop.example" not in str(e.value)


@pytest.mark.parametrize(
    ("relay", "why"),
    [
        ("smtp:/mail.example.com:587", "no host"),
        ("smtp://mail.example.com:port", "Port could not be cast"),
        ("http://mail.example.com", "scheme must be one of"),
        ("smtp://mail.example.com:587/inbox", "unexpected path"),
        ("smtp://mail.example.com:587?tls=yes", "unknown parameter"),
    ],
)
@pytest.mark.parametrize("command", [["serve", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"], ["outbox"]])
def test_a_bad_relay_url_is_a_configuration_error_before_anything_starts(
    tmp_path: Path, relay: str, why: str, command: list[str]
) -> None:
    path = write_config(tmp_path / "shop", f'[outbound]\nrelay = "{relay}"\n', database=False)
    done = CliRunner().invoke(app, ["--config", str(path), *command])
    assert done.exit_code == 1, (done.output, done.exception)
    assert done.stderr.startswith("configuration error:")
    assert f"{path}: [outbound] relay: bad relay URL {relay!r}: {why}" in done.stderr
    assert not (tmp_path / "shop" / "var").exists()


def test_the_shop_calendar_keys(tmp_path: Path) -> None:
    path = tmp_path / "mailgate.toml"
    path.write_text(
        """
[shop]
staff = [{ name = "佐藤", aliases = ["さとう", "Sato"] }, { name = "田中" }]
menus = [{ name = "整体 60分コース", aliases = ["整体60分"] }, { name = "骨盤矯正", minutes = 45 }]
holidays = [2026-12-31, "2027-01-01"]
shifts = "shifts.csv"

[shop.hours]
mon = "10:00-20:00"
tue = "closed"
wed = "１０:００〜２０:００"
thu = "10:00~20:00"
fri = "10:00 - 20:00"
sat = "9:30-18:00"
sun = "定休日"
holiday = "11:00-17:00"
""",
        encoding="utf-8",
    )
    shop = config.load(path).shop
    assert [s.name for s in shop.staff] == ["佐藤", "田中"] and shop.staff[0].aliases == ["さとう", "Sato"]
    assert [m.minutes for m in shop.menus] == [60, 45]  # 60 when not given
    assert [d.isoformat() for d in shop.holidays] == ["2026-12-31", "2027-01-01"]
    assert shop.hours.tue == "closed" and shop.hours.holiday == "11:00-17:00"
    assert shop.shifts == "shifts.csv"


def test_without_calendar_keys_nothing_is_configured() -> None:
    shop = config.load(CORPUS / "mailgate.toml").shop
    assert shop.staff == [] and shop.menus == [] and shop.holidays == [] and shop.shifts is None
    assert shop.hours.mon is None


def test_a_shared_database_needs_the_link_secret_in_the_configuration(
    tmp_path: Path, pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node's own var/secret would make the links it mails fail on every other node."""
    path = write_config(tmp_path, db_url=pg_db_url)
    path.write_text(path.read_text().replace(f'secrets = ["{SECRET}"]', ""))
    with pytest.raises(ConfigError, match=r"\[links\] secrets: with a shared database .*same secret"):
        Context.build(config.load(path))
    assert not (tmp_path / "var" / "secret").exists()
    monkeypatch.setenv("MAILGATE_SECRET", SECRET)
    assert Context.build(config.load(path)).signer.secrets == [SECRET]


def test_the_booking_address_is_book_at_the_first_domain_unless_set(tmp_path: Path) -> None:
    path = tmp_path / "mailgate.toml"
    mail = (
        '[mail]\ndomains = ["Example-Seitai.jp", "b.example"]\n'
        'signup = "s@b.example"\nnotices = "n@b.example"\n'
    )
    path.write_text(mail)
    assert config.load(path).mail.book == "book@example-seitai.jp"
    path.write_text(mail + 'book = "yoyaku@b.example"\n')
    assert config.load(path).mail.book == "yoyaku@b.example"


@pytest.mark.parametrize(
    ("extra", "shop", "where"),
    [
        ('[booking]\nreminders = ["the day before"]\n', "", "reminders"),
        ('[booking]\nreminder_catch_up = "1d18:00"\n', "", "reminder_catch_up"),
        ("", '[[shop.menus]]\nname = "整体"\nreminders = ["2x"]\n', "reminders"),
    ],
)
def test_a_reminder_offset_or_catch_up_that_is_no_rule_is_reported(
    tmp_path: Path, extra: str, shop: str, where: str
) -> None:
    with pytest.raises(ConfigError, match=where):
        config.load(write_config(tmp_path, extra, shop=shop))


def test_reminder_offsets_per_menu_and_for_the_shop(tmp_path: Path) -> None:
    extra = '[booking]\nreminders = ["1d18:00", "2h"]\nreminder_catch_up = "90m"\n'
    cfg = config.load(write_config(tmp_path, extra, shop='[[shop.menus]]\nname = "整体"\nreminders = []\n'))
    assert cfg.booking.reminders == ["1d18:00", "2h"] and cfg.booking.reminder_catch_up == "90m"
    assert cfg.shop.menus[0].reminders == []
