"""A small hostile-mail run (scripts/fuzz_smtp.py): corpus mails mutated by hypothesis over SMTP;
serve stays up, every mail that got 250 is stored and dealt with, no traceback, no runaway read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.proof_runs import script

pytestmark = pytest.mark.e2e  # starts mailgate serve

fuzz_smtp = script("fuzz_smtp")


def test_hostile_mails_are_each_stored_and_dealt_with_and_the_server_stays_up(tmp_path: Path) -> None:
    # The CPU limit is the default's tenth, not the script's one second: a shared, busy test machine
    # must not fail a linear read; a quadratic one on these sizes blows past either.
    report = fuzz_smtp.fuzz(tmp_path, count=120, seed=5, cpu=3, max_rss_mb=512, seconds=240)
    print(report.text())
    assert report.problems == []
    assert report.figures["mails sent"] == 120
    assert set(report.figures["mutations applied"]) == {m.__name__ for m in fuzz_smtp.MUTATIONS}
