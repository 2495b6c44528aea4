"""What the current rules make of a stored message: parse, proof (DKIM, only if a rule needs it),
rules. Pure reading: runs before the ledger transaction, never while a row lock is held."""

from __future__ import annotations

from mailgate.authn import find_originals
from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.mail.parse import parse
from mailgate.models import Message
from mailgate.rules.engine import decide
from mailgate.rules.intent import Intent


def decide_stored(ctx: Context, msg: Message) -> Intent:
    raw = spool.read(ctx.engine, ctx.cfg.spool_dir, msg.spool_path)
    mail = parse(raw)
    return decide(
        ctx.rules, mail, msg.rcpt, msg.mail_from, ctx.cfg, lambda: find_originals(raw, ctx.dns, mail)
    )
