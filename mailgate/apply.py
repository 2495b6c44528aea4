"""Apply an Intent from a message: ledger, audit, outbox and the message's final state, in the
caller's single transaction, so a crash leaves all of it or none of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from mailgate import audit
from mailgate.context import Context
from mailgate.intent import Intent
from mailgate.ledger import bookings, customers, inquiries
from mailgate.ledger.bookings import Outcome
from mailgate.models import Message, MessageState

Handler = Callable[[Session, Context, Message, Intent, datetime], Outcome]


def _register(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    outcome = customers.signup_mail(session, ctx, message, intent.customer["email"], now)
    for note in intent.notes:
        audit.record(session, "note", f"message:{message.id}", message_id=message.id, note=note)
    return Outcome(MessageState.APPLIED, outcome, "registered")


def _ignore(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    return Outcome(MessageState.IGNORED, intent.reason, "ignored")


def _hold(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    return Outcome(MessageState.HELD, intent.reason, "held")


HANDLERS: dict[str, Handler] = {
    "register": _register,
    "book": bookings.book,
    "change": bookings.change,
    "cancel": bookings.cancel,
    "inquiry": inquiries.record,
    "ignore": _ignore,
    "hold": _hold,
}


def apply(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    outcome = HANDLERS[intent.action](session, ctx, message, intent, now)
    previous = message.decision
    message.state = outcome.state
    message.reason = outcome.reason
    message.processed_at = now
    if outcome.state != MessageState.DEFERRED:
        message.waiting_for = None
    # The decision record: what was read and decided, and what came of it; earlier runs are kept.
    history = [*(previous or {}).get("history", []), *([_summary(previous)] if previous else [])]
    message.decision = {
        "rules_version": ctx.rules.version,
        "at": now.isoformat(),
        "intent": intent.record(),
        "outcome": {"state": outcome.state, "tag": outcome.tag, "reason": outcome.reason},
        "history": history[-10:],
    }
    session.add(message)
    audit.record(
        session,
        f"message_{outcome.state}",
        f"message:{message.id}",
        message_id=message.id,
        reason=outcome.reason,
        action=intent.action,
        rule=intent.rule,
        at=now,
    )
    return outcome


def _summary(decision: dict) -> dict:
    intent = decision.get("intent", {})
    return {
        "rules_version": decision.get("rules_version"),
        "at": decision.get("at"),
        "action": intent.get("action"),
        "rule": intent.get("rule"),
        "outcome": decision.get("outcome"),
    }
