"""Commands that only look change nothing on disk: no database, no var/ created where there was none.

The README sends a new shop to the corpus config to try vendor notices; trying them must leave the
checkout as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mailgate.cli import app
from tests.conftest import CORPUS, write_config

BOOKED = str(CORPUS / "stores" / "booked-01.eml")
# Commands that need a database to show anything.
LOOKING = [
    ["messages"],
    ["messages", "show", "1"],
    ["audit", "--message", "1"],
    ["outbox"],
    ["bookings"],
    ["bookings", "--all"],
    ["conflicts"],
    ["inquiries"],
    ["reconcile", "--date", "2026-12-03"],
    ["digest"],
    ["replay", "1", "--dry-run"],
    ["report", "morning"],
    ["stats"],
    ["tasks"],
    ["phrases", "list"],
    ["customers", "history", "#1"],
]
# Commands that need none.
NO_DATABASE = [["rules", "check"], ["rules", "test", BOOKED], ["rules", "test", BOOKED, "--json"], ["qr"]]


def mailgate(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(cfg), *args])


def everything_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The corpus configuration as the README uses it, in a directory of its own (a fresh checkout)."""
    shutil.copy(CORPUS / "mailgate.toml", tmp_path / "mailgate.toml")
    shutil.copytree(CORPUS / "keys", tmp_path / "keys")
    return tmp_path / "mailgate.toml"


@pytest.mark.parametrize("args", NO_DATABASE, ids=" ".join)
def test_rules_and_qr_need_no_database(corpus: Path, args: list[str]) -> None:
    before = everything_under(corpus.parent)
    done = mailgate(corpus, *args)
    assert done.exit_code == 0, (done.output, done.exception)
    assert everything_under(corpus.parent) == before


def test_trying_a_notice_with_the_corpus_config_shows_it_booked(corpus: Path) -> None:
    done = mailgate(corpus, "rules", "test", BOOKED)
    assert done.exit_code == 0, done.output
    assert "action:      book" in done.stdout  # proven by the corpus's test keys, not held


@pytest.mark.parametrize("args", LOOKING, ids=" ".join)
def test_a_looking_command_on_a_missing_database_says_so_and_creates_nothing(
    corpus: Path, args: list[str]
) -> None:
    before = everything_under(corpus.parent)
    done = mailgate(corpus, *args)
    assert done.exit_code == 1, (done.output, done.exception)
    assert done.stderr.startswith(f"no database at {corpus.parent / 'var' / 'mailgate.db'}: nothing")
    assert "`mailgate serve`, `ingest` or `db upgrade` create it" in done.stderr
    assert everything_under(corpus.parent) == before


@pytest.mark.parametrize(("args", "code"), [(["db", "current"], 0), (["db", "check"], 1)])
def test_db_current_and_check_on_a_missing_database_create_none(
    corpus: Path, args: list[str], code: int
) -> None:
    before = everything_under(corpus.parent)
    done = mailgate(corpus, *args)
    assert done.exit_code == code, done.output
    assert done.stdout.startswith(f"no database at {corpus.parent / 'var' / 'mailgate.db'}")
    assert everything_under(corpus.parent) == before


def test_the_checkouts_corpus_config_stays_clean() -> None:
    """What the README shows, on the files it names."""
    assert not (CORPUS / "var").exists(), "left by something before this test"
    try:
        for args in (["rules", "check"], ["rules", "test", BOOKED]):
            assert mailgate(CORPUS / "mailgate.toml", *args).exit_code == 0
        assert mailgate(CORPUS / "mailgate.toml", "messages").exit_code == 1
        assert not (CORPUS / "var").exists()
    finally:
        shutil.rmtree(CORPUS / "var", ignore_errors=True)  # a failure here must not leave it behind


def test_looking_at_an_existing_database_writes_no_link_secret(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)  # a database, no var/secret yet
    cfg.write_text(cfg.read_text().replace("[links]\nsecrets = [", "[links]\n# secrets = ["))
    for args in LOOKING[:-1]:
        mailgate(cfg, *args)
    assert not (tmp_path / "var" / "secret").exists()
    assert mailgate(cfg, "bookings", "--all").exit_code == 0


def test_an_empty_database_is_not_built_by_a_looking_command(tmp_path: Path, empty_db_url: str) -> None:
    cfg = write_config(tmp_path, db_url=empty_db_url)
    if empty_db_url.startswith("sqlite"):
        Path(empty_db_url.removeprefix("sqlite:///")).touch()  # a file with no tables
    done = mailgate(cfg, "messages")
    assert done.exit_code == 1
    assert done.stderr.startswith("the database is empty: nothing has been stored")
    assert mailgate(cfg, "db", "current").stdout.startswith("the database is empty")
