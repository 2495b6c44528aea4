from pathlib import Path

import pytest

from mailgate import config
from mailgate.config import ConfigError
from tests.conftest import CORPUS


def test_defaults_serve_a_demo_shop_on_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILGATE_CONFIG", raising=False)
    cfg = config.load()
    assert cfg.smtp_listen == ("127.0.0.1", 2525)
    assert cfg.web_listen == ("127.0.0.1", 8025)
    assert cfg.db_url == f"sqlite:///{tmp_path / 'var' / 'mailgate.db'}"
    assert cfg.outbox_dir == tmp_path / "var" / "outbox"
    assert cfg.outbound.relay is None


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
        ('[mail]\nmax_size = "big"\n', "[mail] max_size: expected"),
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
