"""Replay: stored messages through the current rules. A dry run applies in a transaction that is
rolled back, so it reports exactly what applying would do; applying is idempotent."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.apply import apply
from mailgate.context import Context
from mailgate.models import Message, MessageState, utcnow
from mailgate.pipeline import decide_stored, process_pending


@dataclass(frozen=True)
class Replayed:
    message_id: int
    then: dict[str, str]  # state, action, reason as stored
    now: dict[str, str]  # state, action, reason, tag of this run
    applied: bool  # False for a dry run


def select_ids(ctx: Context, ids: list[int], state: str | None, since: datetime | None) -> list[int]:
    with Session(ctx.engine) as session:
        stmt = select(Message.id).order_by(col(Message.id))
        if ids:
            stmt = stmt.where(col(Message.id).in_(ids))
        if state:
            stmt = stmt.where(Message.state == state)
        if since:
            stmt = stmt.where(col(Message.received_at) >= since)
        return [i for i in session.exec(stmt) if i is not None]


def replay_one(
    ctx: Context, message_id: int, *, dry_run: bool, operator: str, now: datetime | None = None
) -> Replayed:
    now = now or utcnow()
    with Session(ctx.engine, expire_on_commit=False) as session:
        msg = session.exec(select(Message).where(Message.id == message_id).with_for_update()).one()
        decision = msg.decision or {}
        then = {
            "state": msg.state,
            "action": decision.get("intent", {}).get("action", "-"),
            "reason": msg.reason,
        }
        try:
            intent = decide_stored(ctx, msg)
            outcome = apply(session, ctx, msg, intent, now)
            result = {
                "state": outcome.state,
                "action": intent.action,
                "reason": outcome.reason,
                "tag": outcome.tag,
            }
        except Exception as exc:
            session.rollback()
            result = {
                "state": MessageState.FAILED,
                "action": "-",
                "reason": f"{type(exc).__name__}: {exc}",
                "tag": "failed",
            }
            if not dry_run:
                msg = session.exec(select(Message).where(Message.id == message_id)).one()
                msg.state, msg.reason, msg.traceback = (
                    MessageState.FAILED,
                    result["reason"],
                    traceback.format_exc(),
                )
                session.add(msg)
                audit.record(
                    session,
                    "message_failed",
                    f"operator:{operator}",
                    message_id=msg.id,
                    reason=msg.reason,
                    at=now,
                )
                session.commit()
            return Replayed(message_id, then, result, applied=False)
        if dry_run:
            session.rollback()
            return Replayed(message_id, then, result, applied=False)
        audit.record(
            session,
            "message_replayed",
            f"operator:{operator}",
            message_id=msg.id,
            before=then,
            after=result,
            rules_version=ctx.rules.version,
            at=now,
        )
        session.commit()
    return Replayed(message_id, then, result, applied=True)


def replay(ctx: Context, ids: list[int], *, dry_run: bool, operator: str) -> list[Replayed]:
    results = [replay_one(ctx, i, dry_run=dry_run, operator=operator) for i in ids]
    if not dry_run:
        process_pending(ctx)  # what applying released (deferred changes and cancels)
    return results
