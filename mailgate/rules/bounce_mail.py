"""Mail to the bounce address (bounce+TOKEN@): a delivery report about one mail we sent. What it
says is read here (mail/dsn.py); whether the token is ours, and what follows, the ledger decides
(ledger/bounces.py), since only it holds the secrets and the outbox."""

from __future__ import annotations

from mailgate.mail.dsn import read_report
from mailgate.mail.parse import ParsedMail
from mailgate.rules.intent import Intent

RULE = "built-in/bounce"


def intent(mail: ParsedMail, rcpt: str) -> Intent:
    report = read_report(mail)
    if report is None:
        return Intent("ignore", "mail to the bounce address that is not a delivery report", RULE)
    fields = {
        "tag": rcpt.rpartition("@")[0].partition("+")[2][:40],  # a token we wrote is short
        "kind": report.kind,
        "status": report.status,
        "recipient": report.recipient[:320],
        "diagnostic": report.diagnostic,
        "form": report.form,
    }
    return Intent("bounce", report.summary(), RULE, fields=fields)
