"""The worker: claim a stored message, decide what it means with no transaction open, then record
the outcome in one short transaction that first checks the claim is still ours."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime

from sqlalchemy.engine import Engine

from mailgate import db, leases
from mailgate.context import Context
from mailgate.faults import is_our_own
from mailgate.models import Message, MessageState, utcnow
from mailgate.normalize import redact
from mailgate.pipeline import claim
from mailgate.pipeline.decide import decide_stored
from mailgate.pipeline.dispatch import apply

log = logging.getLogger("mailgate.pipeline")


def _kept_alive(engine: Engine, owner: str):  # type: ignore[no-untyped-def]
    return leases.kept_alive(engine, Message, owner, claim.BUSY, claim.LEASE)


def process(
    ctx: Context, message_id: int, now: datetime | None = None, *, owner: str | None = None
) -> str | None:
    """Process one stored message to its final state; returns that state (None if not ours to take)."""
    owner = owner or leases.owner_name("worker")
    if not claim.take_one(ctx.engine, message_id, owner):
        return None
    with _kept_alive(ctx.engine, owner):
        return work(ctx, message_id, owner, now)


def process_pending(ctx: Context, *, owner: str | None = None) -> int:
    """Everything in `received`, including what applying releases (deferred notices) on the way, and
    what a dead worker left behind. Returns how many messages this call moved on."""
    owner = owner or leases.owner_name("worker")
    claim.return_kept(ctx.engine)  # before reaping: what we still hold is no strike
    claim.reap(ctx.engine)
    done = 0
    with _kept_alive(ctx.engine, owner):
        while taken := claim.take_next(ctx.engine, owner):
            for message_id in taken:
                done += work(ctx, message_id, owner) is not None
    return done


def work(ctx: Context, message_id: int, owner: str, now: datetime | None = None) -> str | None:
    """A claimed message to its outcome. None: the claim was lost (another worker has it now)."""
    now = now or utcnow()
    try:
        with db.transaction(db.reading(ctx.engine)) as s:
            msg = s.get(Message, message_id)
            assert msg is not None
        intent = decide_stored(ctx, msg)
        with db.transaction(ctx.engine) as s:
            if not claim.hold(s, message_id, owner):
                log.warning(
                    "msg=%s: lease lost before its outcome was recorded; left to its new owner", message_id
                )
                return None
            msg = s.get(Message, message_id)
            assert msg is not None
            apply(s, ctx, msg, intent, now)
            claim.finish(msg)
            state, reason = msg.state, msg.reason
        log.info(
            "msg=%s from=%s rule=%s action=%s outcome=%s: %s",
            message_id,
            redact(msg.from_addr or "-"),  # 09012345678@docomo.ne.jp is a common address
            intent.rule or "-",
            intent.action,
            state,
            redact(reason),
        )
        return state
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if is_our_own(exc):
            try:
                returned = claim.retry_later(ctx.engine, message_id, owner, reason)
            except Exception as again:
                if not is_our_own(again):
                    raise
                # A full disk refuses this write too: the claim stays ours, to be handed back by
                # the next pass instead of running out and counting as a worker that died.
                claim.keep_for_later(message_id, owner, reason)
                raise
            return MessageState.RECEIVED if returned else None
        if not claim.fail(ctx.engine, message_id, owner, reason, traceback.format_exc()):
            return None
        log.error("msg=%s failed: %s", message_id, redact(reason))
        return MessageState.FAILED
