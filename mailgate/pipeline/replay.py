"""Replay: stored messages through the current rules. A dry run applies in a transaction that is
rolled back, so it reports exactly what applying would do; applying is idempotent, and claims the
message like a worker does, so a replay and a worker never apply one message at the same time."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit, db, leases
from mailgate.context import Context
from mailgate.ledger.erasure import ERASED_RAW, PURGED_RAW
from mailgate.models import Message, MessageState, utcnow
from mailgate.pipeline import claim
from mailgate.pipeline.decide import decide_stored
from mailgate.pipeline.dispatch import apply
from mailgate.pipeline.worker import process_pending


@dataclass(frozen=True)
class Replayed:
    message_id: int
    then: dict[str, str]  # state, action, reason as stored
    now: dict[str, str]  # state, action, reason, tag of this run
    applied: bool  # False for a dry run


def select_ids(ctx: Context, ids: list[int], state: str | None, since: datetime | None) -> list[int]:
    with Session(db.reading(ctx.engine)) as session:
        stmt = select(Message.id).order_by(col(Message.id))
        if ids:
            stmt = stmt.where(col(Message.id).in_(ids))
        if state:
            stmt = stmt.where(Message.state == state)
        if since:
            stmt = stmt.where(col(Message.received_at) >= since)
        return [i for i in session.exec(stmt) if i is not None]


def _then(msg: Message) -> dict[str, str]:
    decision = msg.decision or {}
    return {"state": msg.state, "action": decision.get("intent", {}).get("action", "-"), "reason": msg.reason}


def _failed(exc: Exception) -> dict[str, str]:
    return {
        "state": MessageState.FAILED,
        "action": "-",
        "reason": f"{type(exc).__name__}: {exc}",
        "tag": "failed",
    }


def _left(msg: Message, then: dict[str, str], reason: str, tag: str) -> Replayed:
    """Not replayed, and why."""
    now = {"state": msg.state, "action": "-", "reason": reason, "tag": tag}
    return Replayed(msg.id or 0, then, now, applied=False)


def replay_one(
    ctx: Context, message_id: int, *, dry_run: bool, operator: str, now: datetime | None = None
) -> Replayed:
    now = now or utcnow()
    with Session(db.reading(ctx.engine)) as session:
        msg = session.get(Message, message_id)
        if msg is None:
            raise LookupError(f"no message {message_id}")
    then = _then(msg)
    if msg.spool_path.startswith((PURGED_RAW, ERASED_RAW)):
        return _left(msg, then, "its raw mail was purged or erased", "gone")
    if msg.state == MessageState.PROCESSING:
        return _left(msg, then, f"{msg.claimed_by} is working on it: try again", "busy")
    if dry_run:
        return Replayed(message_id, then, _dry_run(ctx, msg, now), applied=False)
    owner = leases.owner_name(f"replay:{operator}")
    if not claim.take_one(ctx.engine, message_id, owner, from_state=msg.state):
        return _left(msg, then, "taken by a worker meanwhile: try again", "busy")
    try:
        intent = decide_stored(ctx, msg)
        with db.transaction(ctx.engine) as s:
            if not claim.hold(s, message_id, owner):
                raise RuntimeError("the claim on the message was lost")
            held = s.get(Message, message_id)
            assert held is not None
            outcome = apply(s, ctx, held, intent, now)
            claim.finish(held)
            result = {
                "state": outcome.state,
                "action": intent.action,
                "reason": outcome.reason,
                "tag": outcome.tag,
            }
            audit.record(
                s,
                "message_replayed",
                f"operator:{operator}",
                message_id=message_id,
                before=then,
                after=result,
                rules_version=ctx.rules.version,
                at=now,
            )
    except Exception as exc:
        claim.fail(
            ctx.engine,
            message_id,
            owner,
            _failed(exc)["reason"],
            traceback.format_exc(),
            f"operator:{operator}",
        )
        return Replayed(message_id, then, _failed(exc), applied=False)
    return Replayed(message_id, then, result, applied=True)


def _dry_run(ctx: Context, msg: Message, now: datetime) -> dict[str, str]:
    try:
        intent = decide_stored(ctx, msg)
        with Session(ctx.engine, expire_on_commit=False) as s:
            held = s.get(Message, msg.id)
            assert held is not None
            outcome = apply(s, ctx, held, intent, now)
            s.rollback()
    except Exception as exc:
        return _failed(exc)
    return {"state": outcome.state, "action": intent.action, "reason": outcome.reason, "tag": outcome.tag}


def replay(ctx: Context, ids: list[int], *, dry_run: bool, operator: str) -> list[Replayed]:
    results = [replay_one(ctx, i, dry_run=dry_run, operator=operator) for i in ids]
    if not dry_run:
        process_pending(ctx)  # what applying released (deferred changes and cancels)
    return results
