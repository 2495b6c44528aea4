"""SMTP and HTTP abuse (scripts/abuse.py) from other loopback addresses while a well-behaved client
sends mail and opens pages: each limit holds, idle clients are dropped, the good client is served."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.proof_runs import script

pytestmark = pytest.mark.e2e  # starts mailgate serve

abuse = script("abuse")


def test_abusers_meet_their_limits_while_a_well_behaved_client_is_served(tmp_path: Path) -> None:
    report = abuse.abuse(tmp_path, seconds=4)
    print(report.text())
    figures = report.figures
    assert report.problems == []
    assert figures["idle SMTP: let in / refused / closed by server"] == "50 / 20 / 50"  # the default cap
    assert figures["idle HTTP: let in / refused / closed by server"] == "50 / 20 / 50"
    assert figures["pipelining flood: most messages in one connection"] == 50
