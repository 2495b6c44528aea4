"""A small memory soak (scripts/soak.py): mixed mail over several SMTP sessions into one serve, every
message stored and final, and the resident memory of serve and its readers sampled on the way. Whether
it grows is judged only by the long run (README "Proof under load"): a few hundred messages are all
start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.proof_runs import script

pytestmark = pytest.mark.e2e  # starts mailgate serve

soak = script("soak")


def test_a_small_soak_stores_and_finishes_every_message_and_samples_memory(tmp_path: Path) -> None:
    report = soak.soak(tmp_path, count=200, sessions=3, window=100, seconds=300, every=1, growth=None)
    print(report.text())
    assert report.problems == []
    assert report.figures["messages: 250s / stored / final"] == "200 / 200 / 200"
    samples = report.items
    assert samples[-1].done == 200
    assert all(s.serve_rss > 0 and s.serve_hwm >= s.serve_rss for s in samples)
    assert any(s.readers > 0 and s.reader_hwm > 0 for s in samples)
    assert "serve RSS just after ready (baseline)" in report.figures


def test_the_stream_mixes_signups_signed_notices_and_corpus_mails() -> None:
    kinds = [soak.mail(n) for n in range(40)]
    assert sum(rcpt == "signup@shop.example" and b"Subject: \r\n" in raw for _, rcpt, raw in kinds) == 24
    assert sum(b"DKIM-Signature:" in raw and sender == "noreply@coubic.com" for sender, _, raw in kinds) == 12
    corpus = [raw for sender, _, raw in kinds if sender.startswith("corpus")]
    heads = [raw.partition(b"\r\n\r\n")[0].lower() for raw in corpus]
    assert len(corpus) == 4 and all(head.count(b"message-id:") == 1 for head in heads)
    assert len({raw.split(b"\r\n", 1)[0] for raw in corpus}) == 4  # each its own Message-ID
