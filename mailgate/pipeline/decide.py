"""What the current rules make of a stored message: parse, proof (DKIM, only if a rule needs it),
rules. Pure reading: runs before the ledger transaction, never while a row lock is held, and in a
child process with a CPU limit (pipeline/isolated.py)."""

from __future__ import annotations

from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.models import Message
from mailgate.pipeline import isolated
from mailgate.rules.intent import Intent


def decide_stored(ctx: Context, msg: Message, raw: bytes | None = None) -> Intent:
    """`raw`: the message's bytes, when the caller read them already."""
    if raw is None:
        raw = spool.read(ctx.engine, ctx.cfg.spool_dir, msg.spool_path)
    return isolated.read(ctx, raw, msg.rcpt, msg.mail_from)
