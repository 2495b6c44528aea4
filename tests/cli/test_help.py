"""Help texts say what they were written to say: `[imap]`, `[shop] staff` are config sections, not markup."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mailgate.cli import app

_BRACKETED = re.compile(r"\[[a-z_]+\]")
_EXAMPLE = re.compile(r"^\s*(?:Examples?:\s*)?(mailgate .+?)\s*$", re.MULTILINE)


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
    assert headings[headings.index("Options") + 1 :] == [p for p in output.PANELS if p != output.DATA]


def _examples() -> list[tuple[list[str], Any, str]]:
    """(path, command, example line) for every example shown under a `--help`."""
    found = []
    for path, command in _commands():
        text = command.epilog if isinstance(command.epilog, str) else ""
        found += [(path, command, m.group(1)) for m in _EXAMPLE.finditer(text)]
    return found


def test_every_command_shows_an_example() -> None:
    shown = {" ".join(path) for path, _, _ in _examples()}
    runnable = {
        " ".join(path)
        for path, command in _commands()
        if path and (not getattr(command, "commands", None) or getattr(command, "invoke_without_command", 0))
    }
    assert runnable - shown == set()


@pytest.mark.parametrize(("path", "command", "line"), _examples(), ids=[e[2] for e in _examples()])
def test_each_example_is_a_command_line_its_command_accepts(path: list[str], command: Any, line: str) -> None:
    """Parsed as the shell would split it: the command path, then options and arguments the command
    has (an example that names a removed option fails here, not in front of an operator)."""
    words = shlex.split(line)[1:]
    assert words[: len(path)] == path
    context = command.make_context(" ".join(path), words[len(path) :])
    assert context.params is not None
