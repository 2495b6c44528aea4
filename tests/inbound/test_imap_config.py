"""The [imap] section: defaults, mistakes worded like every other config error, and the state row."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailgate import config
from mailgate.config import ConfigError
from mailgate.context import Context
from mailgate.inbound import imap_session
from mailgate.models import ImapState

GMAIL = '[imap]\nhost = "imap.gmail.com"\nusername = "shop@gmail.com"\n'


def load(tmp_path: Path, toml: str) -> config.Config:
    path = tmp_path / "m.toml"
    path.write_text(toml, encoding="utf-8")
    return config.load(path)


def test_no_imap_section_means_no_mailbox(tmp_path: Path) -> None:
    assert load(tmp_path, "").imap is None


def test_defaults_are_tls_on_993_flagging_in_inbox(tmp_path: Path) -> None:
    cfg = load(tmp_path, GMAIL)
    assert cfg.imap is not None
    im = cfg.imap
    assert (im.security, im.server_port, im.folder, im.after, im.flag) == (
        "tls",
        993,
        "INBOX",
        "flag",
        "$MailgateStored",
    )
    assert (im.password_env, im.idle_seconds, im.rcpt) == ("MAILGATE_IMAP_PASSWORD", 300, None)
    assert imap_session.mailbox_key(im) == "shop@gmail.com@imap.gmail.com/INBOX"
    assert "XOAUTH2" not in imap_session.describe(cfg)


def test_starttls_defaults_to_143_and_system_flags_are_normalised(tmp_path: Path) -> None:
    cfg = load(tmp_path, GMAIL + 'security = "starttls"\nflag = "\\\\flagged"\noauth2_token_env = "TOKEN"\n')
    assert cfg.imap is not None
    assert (cfg.imap.server_port, cfg.imap.flag) == (143, "\\Flagged")
    assert "XOAUTH2" in imap_session.describe(cfg)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[imap]\nusername = "a@gmail.com"\n', "[imap] host: expected the IMAP server's host name"),
        (GMAIL.replace('"imap.gmail.com"', '"imap.gmail.com:993"'), "[imap] host: expected"),
        ('[imap]\nhost = "imap.gmail.com"\n', "[imap] username: expected the mailbox's login name"),
        (
            GMAIL + 'security = "none"\n',
            '[imap] security: expected "tls" or "starttls" for \'imap.gmail.com\'',
        ),
        (GMAIL + 'security = "ssl"\n', '[imap] security: expected "tls" (port 993), "starttls"'),
        (GMAIL + 'password_env = "my secret"\n', "[imap] password_env: expected the name of an environment"),
        (
            GMAIL + 'after = "delete"\n',
            '[imap] after: expected "flag" (keep the mail in the folder) or "move"',
        ),
        (
            GMAIL + 'after = "move"\n',
            '[imap] move_to: expected a folder to move stored mail to (after = "move")',
        ),
        (GMAIL + 'after = "move"\nmove_to = "INBOX"\n', "[imap] move_to: expected a folder other than"),
        (GMAIL + 'flag = "\\\\Deleted"\n', "[imap] flag: expected a keyword such as $MailgateStored"),
        (GMAIL + "idle_seconds = 3600\n", "[imap] idle_seconds: expected"),
        (GMAIL + 'rcpt = "notices"\n', "[imap] rcpt: expected an email address"),
        (GMAIL + "pasword_env = 'X'\n", "[imap] pasword_env: unknown key"),
    ],
)
def test_mistakes_name_the_file_the_key_and_what_was_expected(
    tmp_path: Path, toml: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, toml)
    assert f"{tmp_path / 'm.toml'}: {expected}" in str(e.value)


def test_plain_text_is_allowed_on_loopback_only(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        cfg = load(tmp_path, f'[imap]\nhost = "{host}"\nusername = "u"\nsecurity = "none"\n')
        assert cfg.imap is not None and cfg.imap.server_port == 143


def test_the_state_row_holds_unsigned_32_bit_uids(db_ctx: Context) -> None:
    with Session(db_ctx.engine) as s:
        s.add(
            ImapState(
                mailbox="shop@gmail.com@imap.gmail.com/INBOX", uidvalidity=2**32 - 1, last_uid=2**32 - 2
            )
        )
        s.commit()
    with Session(db_ctx.engine) as s:
        row = s.exec(select(ImapState)).one()
        assert (row.uidvalidity, row.last_uid) == (2**32 - 1, 2**32 - 2)
        assert row.updated_at.tzinfo is not None
