"""Help texts say what they were written to say: `[imap]`, `[shop] staff` are config sections, not markup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mailgate.cli import app

_BRACKETED = re.compile(r"\[[a-z_]+\]")


def _commands() -> Iterator[tuple[list[str], Any]]:
    """(path, command) of every command; typer carries its own copy of click, so duck-typed."""

    def walk(path: list[str], command: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk([*path, name], sub)

    yield from walk([], typer.main.get_command(app))


def _written(command: Any) -> list[str]:
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    return [word for text in texts for word in _BRACKETED.findall(text)]


COMMANDS = [(path, words) for path, command in _commands() if (words := _written(command))]


def test_some_help_texts_name_config_sections() -> None:
    assert {" ".join(path) for path, _ in COMMANDS} >= {"digest", "poll", "shop import"}


@pytest.mark.parametrize(("path", "words"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_bracketed_config_sections_survive_in_help(path: list[str], words: list[str]) -> None:
    done = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert done.exit_code == 0, done.output
    for word in words:
        assert word in done.output, f"{word} lost from `mailgate {' '.join(path)} --help`:\n{done.output}"


def test_every_command_is_listed_under_its_job() -> None:
    """`mailgate --help` groups the commands by job; a command added without a heading would fall
    into "Setup and running" unnoticed."""
    from mailgate.cli import output

    top = typer.main.get_command(app)
    missing = [name for name, cmd in top.commands.items() if getattr(cmd, "rich_help_panel", None) is None]
    assert missing == []
    listed = CliRunner().invoke(app, ["--help"], terminal_width=200).output
    headings = [line[:-1] for line in listed.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headings[headings.index("Options") + 1 :] == list(output.PANELS)
