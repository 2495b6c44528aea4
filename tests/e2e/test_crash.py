"""SIGKILL at the worst moments: a message acknowledged with 250 is processed once and answered once."""

from __future__ import annotations

import signal
import smtplib
import time
from pathlib import Path

from tests.conftest import start_serve, wait_for, write_config
from tests.e2e.helpers import cli, outbox_files, read_mail


def blank(sender: str, n: int) -> bytes:
    return f"From: {sender}\r\nTo: signup@shop.example\r\nMessage-ID: <crash-{n}@example.jp>\r\n\r\n".encode()


def test_killed_after_250_before_processing_then_processed_once(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    first = start_serve(cfg, "--no-worker")
    with smtplib.SMTP("127.0.0.1", first.smtp_port, timeout=10) as s:
        s.sendmail("k@example.jp", ["signup@shop.example"], blank("k@example.jp", 0))
    first.stop(signal.SIGKILL)
    [stored] = cli(cfg, "messages")
    assert stored["state"] == "received"  # on disk and in the database, though nothing ran

    for _ in range(2):  # a second restart must not answer again either
        again = start_serve(cfg)
        wait_for(lambda: cli(cfg, "messages")[0]["state"] == "applied")
        wait_for(lambda: outbox_files(first.outbox))
        time.sleep(1.5)  # give a duplicate the chance to appear
        again.stop()
    [reply] = outbox_files(first.outbox)
    assert read_mail(reply)[0]["To"] == "k@example.jp"


def test_killed_mid_stream_every_acknowledged_message_is_answered_exactly_once(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    served = start_serve(cfg)
    senders = [f"burst{i}@example.jp" for i in range(15)]
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
        for i, sender in enumerate(senders):
            s.sendmail(sender, ["signup@shop.example"], blank(sender, i + 1))
    served.stop(signal.SIGKILL)  # somewhere between storing, processing and sending

    again = start_serve(cfg)
    try:
        wait_for(lambda: len(outbox_files(again.outbox)) >= len(senders), timeout=60)
        time.sleep(1.5)
        recipients = sorted(read_mail(p)[0]["To"] for p in outbox_files(again.outbox))
        assert recipients == sorted(senders)
        assert {m["state"] for m in cli(cfg, "messages")} == {"applied"}
    finally:
        again.stop()
