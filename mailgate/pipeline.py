"""Stored message -> parse -> rules -> apply. A message is claimed (attempts + 1, committed) before
it is worked on, so a worker killed mid-message leaves a count behind; after MAX_ATTEMPTS such deaths
the message goes to `failed` instead of killing the worker again."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.apply import apply
from mailgate.authn import originals
from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.intent import Intent
from mailgate.mail.parse import parse
from mailgate.models import Message, MessageState, utcnow
from mailgate.normalize import redact
from mailgate.rules.engine import decide

MAX_ATTEMPTS = 3
log = logging.getLogger("mailgate.pipeline")


def pending(ctx: Context, limit: int = 100) -> list[int]:
    with Session(ctx.engine) as session:
        stmt = (
            select(Message.id)
            .where(Message.state == MessageState.RECEIVED)
            .order_by(col(Message.id))
            .limit(limit)
        )
        return [i for i in session.exec(stmt) if i is not None]


def _claim(ctx: Context, message_id: int) -> bool:
    """True when the message is ours to process now; poison messages are set aside here."""
    with Session(ctx.engine) as session:
        msg = session.exec(select(Message).where(Message.id == message_id).with_for_update()).first()
        if msg is None or msg.state != MessageState.RECEIVED:
            return False
        if msg.attempts >= MAX_ATTEMPTS:
            msg.state = MessageState.FAILED
            msg.reason = f"processing stopped the worker {msg.attempts} times; set aside"
            msg.processed_at = utcnow()
            session.add(msg)
            audit.record(session, "message_failed", "system", message_id=msg.id, reason=msg.reason)
            session.commit()
            log.warning("msg=%s set aside after %s attempts", msg.id, msg.attempts)
            return False
        msg.attempts += 1
        session.add(msg)
        session.commit()
        return True


def decide_stored(ctx: Context, msg: Message) -> Intent:
    """What the current rules make of a stored message (signatures checked only if a rule needs them)."""
    raw = spool.read(ctx.cfg.spool_dir, msg.spool_path)
    mail = parse(raw)
    return decide(ctx.rules, mail, msg.rcpt, msg.mail_from, ctx.cfg, lambda: originals(raw, ctx.dns, mail))


def process(ctx: Context, message_id: int, now: datetime | None = None) -> str | None:
    """Process one stored message to its final state; returns that state (None if not ours)."""
    if not _claim(ctx, message_id):
        return None
    now = now or utcnow()
    try:
        with Session(ctx.engine, expire_on_commit=False) as session:
            msg = session.exec(select(Message).where(Message.id == message_id).with_for_update()).one()
            intent = decide_stored(ctx, msg)
            apply(session, ctx, msg, intent, now)
            session.commit()
            log.info(
                "msg=%s from=%s rule=%s action=%s outcome=%s: %s",
                msg.id,
                redact(msg.from_addr or "-"),  # 09012345678@docomo.ne.jp is a common address
                intent.rule or "-",
                intent.action,
                msg.state,
                redact(msg.reason),
            )
            return msg.state
    except Exception as exc:
        tb = traceback.format_exc()
        reason = f"{type(exc).__name__}: {exc}"[:500]
        with Session(ctx.engine) as session:
            msg = session.get(Message, message_id)
            assert msg is not None
            msg.state = MessageState.FAILED
            msg.reason = reason
            msg.traceback = tb
            msg.processed_at = now
            session.add(msg)
            audit.record(session, "message_failed", "system", message_id=msg.id, reason=msg.reason)
            session.commit()
        log.error("msg=%s failed: %s", message_id, redact(reason))
        return MessageState.FAILED


def process_pending(ctx: Context) -> int:
    """Everything in `received`, including what applying releases (deferred notices) on the way."""
    done = 0
    while ids := pending(ctx):
        progress = sum(process(ctx, message_id) is not None for message_id in ids)
        done += progress
        if not progress:
            break
    return done
