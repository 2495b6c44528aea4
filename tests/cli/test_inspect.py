"""Looking at claimed work from the terminal (in-process, through Typer's runner)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mailgate.cli import app
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.pipeline import claim

runner = CliRunner()


def test_messages_being_processed_show_their_worker_and_lease(db_ctx: Context) -> None:
    raw = b"From: a@example.jp\r\nTo: signup@shop.example\r\nMessage-ID: <busy@example.jp>\r\n\r\n"
    [mid] = store(
        db_ctx.engine, db_ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="smtp"
    ).ids
    assert claim.take_one(db_ctx.engine, mid, "worker@node-b/4242/abc")
    config = str(db_ctx.cfg.source)

    text = runner.invoke(app, ["--config", config, "messages", "--state", "processing"])
    assert text.exit_code == 0, text.output
    assert "processing" in text.output and "worker@node-b/4242/abc until 20" in text.output

    listed = runner.invoke(app, ["--config", config, "messages", "--state", "processing", "--json"])
    [row] = json.loads(listed.output)
    assert row["claimed_by"] == "worker@node-b/4242/abc" and row["lease_until"]
