"""A small run of scripts/bench_nodes.py: two `mailgate serve` nodes on one PostgreSQL take a stream
of signups and signed booking notices spread over both; every message stored once and applied, no
booking twice, one reply per signup delivered once. Correctness only: the figures are the script's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.postgres import running_postgres
from tests.scripts.proof_runs import script

pytestmark = pytest.mark.e2e  # starts PostgreSQL and two mailgate serve

bench_nodes = script("bench_nodes")


def test_two_nodes_on_one_postgresql_apply_a_spread_stream_once_each(tmp_path: Path) -> None:
    items = bench_nodes.items_of(30)
    with running_postgres(tmp_path / "pg", "fsync=off") as server:
        bench_nodes.make_template(server, statements=False)
        run = bench_nodes.run_nodes(server, tmp_path, 2, items, seconds=240, idle=0)
    print(run.figures)
    assert run.problems == []
    assert run.figures["messages stored"] == 30 + 8  # the stream and the warm-up
    assert run.figures["states"] == {"applied": 38}
    assert run.figures["bookings twice (per number, per customer and time)"] == 0
    assert run.figures["reply files in the Maildir"] == run.figures["replies queued"] == 19
