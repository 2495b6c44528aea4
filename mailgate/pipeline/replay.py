"""Replay: stored messages through the current rules. A dry run applies in a transaction that is
rolled back, so it reports exactly what applying would do; applying is idempotent, and claims the
message like a worker does, so a replay and a worker never apply one message at the same time.

Each result has the message's reading then (its stored decision) and now (pipeline/reading.py). An
applied message the rules now read differently (another time, another staff member) is a difference
for the operator to decide: left as it is, reported and audited, never applied over nor passed over
in silence."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailgate import audit, db, leases
from mailgate.context import Context
from mailgate.ledger.erasure import ERASED_RAW, PURGED_RAW
from mailgate.models import Message, MessageState, utcnow
from mailgate.pipeline import claim, reading
from mailgate.pipeline.decide import decide_stored
from mailgate.pipeline.dispatch import apply
from mailgate.pipeline.worker import process_pending
from mailgate.rules.intent import Intent

DIFFERS = "differs"


@dataclass(frozen=True)
class Replayed:
    message_id: int
    then: dict[str, str]  # state, action, reason as stored
    now: dict[str, str]  # state, action, reason, tag of this run
    applied: bool  # False for a dry run
    then_reading: str = ""  # the stored decision in one line
    now_reading: str = ""  # the rules' reading now ("" when not read: raw mail gone, busy, failed)

    @property
    def differs(self) -> bool:
        return bool(self.now_reading and self.then_reading) and self.now_reading != self.then_reading


def select_ids(
    ctx: Context, ids: list[int], state: str | None, since: datetime | None, until: datetime | None = None
) -> list[int]:
    """The messages named, in `state`, received in [since, until)."""
    with Session(db.reading(ctx.engine)) as session:
        stmt = select(Message.id).order_by(col(Message.id))
        if ids:
            stmt = stmt.where(col(Message.id).in_(ids))
        if state:
            stmt = stmt.where(Message.state == state)
        if since:
            stmt = stmt.where(col(Message.received_at) >= since)
        if until:
            stmt = stmt.where(col(Message.received_at) < until)
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


@dataclass(frozen=True)
class _Run:
    """One message's replay: what it was, and how to say what came of it."""

    msg: Message
    tz: ZoneInfo

    @property
    def then(self) -> dict[str, str]:
        return _then(self.msg)

    @property
    def then_reading(self) -> str:
        return reading.line((self.msg.decision or {}).get("intent") or {}, self.tz)

    def result(self, now: dict[str, str], intent: Intent | None = None, applied: bool = False) -> Replayed:
        read_now = reading.line(intent.record(), self.tz) if intent is not None else ""
        return Replayed(self.msg.id or 0, self.then, now, applied, self.then_reading, read_now)

    def left(self, reason: str, tag: str) -> Replayed:
        """Not replayed, and why."""
        return self.result({"state": self.msg.state, "action": "-", "reason": reason, "tag": tag})

    def kept(self, intent: Intent) -> Replayed | None:
        """An applied message read differently now: left for the operator (None: go on)."""
        if self.msg.state != MessageState.APPLIED or not (self.msg.decision or {}).get("intent"):
            return None
        done = self.result({}, intent)
        if not done.differs:
            return None
        why = "applied before and read differently now: left as it is for the operator to decide"
        return self.result(
            {"state": self.msg.state, "action": intent.action, "reason": why, "tag": DIFFERS}, intent
        )


def replay_one(
    ctx: Context, message_id: int, *, dry_run: bool, operator: str, now: datetime | None = None
) -> Replayed:
    now = now or utcnow()
    with Session(db.reading(ctx.engine)) as session:
        msg = session.get(Message, message_id)
        if msg is None:
            raise LookupError(f"no message {message_id}")
    run = _Run(msg, ctx.cfg.tz)
    if msg.spool_path.startswith((PURGED_RAW, ERASED_RAW)):
        return run.left("its raw mail was purged or erased", "gone")
    if msg.state == MessageState.PROCESSING:
        return run.left(f"{msg.claimed_by} is working on it: try again", "busy")
    if dry_run:
        return _dry_run(ctx, run, now)
    owner = leases.owner_name(f"replay:{operator}")
    if not claim.take_one(ctx.engine, message_id, owner, from_state=msg.state):
        return run.left("taken by a worker meanwhile: try again", "busy")
    try:
        intent = decide_stored(ctx, msg)
        with db.transaction(ctx.engine) as s:
            if not claim.hold(s, message_id, owner):
                raise RuntimeError("the claim on the message was lost")
            held = s.get(Message, message_id)
            assert held is not None
            kept = run.kept(intent)
            if kept is not None:
                held.state = msg.state  # back as it was, claim released
                claim.finish(held)
                s.add(held)
                _audit(s, "message_replay_differs", operator, kept, ctx, now)
                return kept
            outcome = apply(s, ctx, held, intent, now)
            claim.finish(held)
            result = {
                "state": outcome.state,
                "action": intent.action,
                "reason": outcome.reason,
                "tag": outcome.tag,
            }
            done = run.result(result, intent, applied=True)
            _audit(s, "message_replayed", operator, done, ctx, now)
    except Exception as exc:
        claim.fail(
            ctx.engine,
            message_id,
            owner,
            _failed(exc)["reason"],
            traceback.format_exc(),
            f"operator:{operator}",
        )
        return run.result(_failed(exc))
    return done


def _audit(s: Session, kind: str, operator: str, done: Replayed, ctx: Context, now: datetime) -> None:
    audit.record(
        s,
        kind,
        f"operator:{operator}",
        message_id=done.message_id,
        before=done.then,
        after=done.now,
        read_then=done.then_reading,
        read_now=done.now_reading,
        rules_version=ctx.rules.version,
        at=now,
    )


def _dry_run(ctx: Context, run: _Run, now: datetime) -> Replayed:
    try:
        intent = decide_stored(ctx, run.msg)
        kept = run.kept(intent)
        if kept is not None:
            return kept
        with Session(ctx.engine, expire_on_commit=False) as s:
            held = s.get(Message, run.msg.id)
            assert held is not None
            outcome = apply(s, ctx, held, intent, now)
            s.rollback()
    except Exception as exc:
        return run.result(_failed(exc))
    result = {"state": outcome.state, "action": intent.action, "reason": outcome.reason, "tag": outcome.tag}
    return run.result(result, intent)


def replay(
    ctx: Context,
    ids: list[int],
    *,
    dry_run: bool,
    operator: str,
    each: Callable[[Replayed], None] | None = None,
) -> list[Replayed]:
    """`each` is called after every message (a progress bar)."""
    results = []
    for i in ids:
        results.append(replay_one(ctx, i, dry_run=dry_run, operator=operator))
        if each is not None:
            each(results[-1])
    if not dry_run:
        process_pending(ctx)  # what applying released (deferred changes and cancels)
    return results
