"""Exit codes mean something: 0 done; 1 not found, refused, a configuration error, a database that
cannot be reached or is out of date (each with what to do); 2 a command written wrong. No traceback
for any of them."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from mailgate.cli import app
from tests.conftest import write_config


def invoke(cfg: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--config", str(cfg), *args])


def closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused at once
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_database_that_cannot_be_reached_is_exit_1_with_what_to_do(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://mailgate@127.0.0.1:{closed_port()}/mailgate"
    cfg = write_config(tmp_path / "shop", db_url=url)
    for command in (["bookings", "--all"], ["messages"], ["db", "current"]):
        done = invoke(cfg, *command)
        assert done.exit_code == 1, (command, done.output)
        assert done.stderr.startswith("the database cannot be reached: ") and "Traceback" not in done.output
        assert "Check [db] url" in done.stderr


def test_a_configuration_error_is_exit_1(tmp_path: Path) -> None:
    cfg = tmp_path / "mailgate.toml"
    cfg.write_text("[smtp]\nlisten = \n", encoding="utf-8")
    done = invoke(cfg, "bookings")
    assert done.exit_code == 1 and done.stderr.startswith("configuration error:")


def test_a_command_written_wrong_is_exit_2(cfg_path: Path) -> None:
    assert invoke(cfg_path, "bookings", "--date", "tomorrow-ish").exit_code == 2
    assert invoke(cfg_path, "no-such-command").exit_code == 2
