"""Apply an Intent from a message: ledger, audit, outbox and the message's final state, in the
caller's single transaction, so a crash leaves all of it or none of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from mailgate import audit
from mailgate.context import Context
from mailgate.intent import Intent
from mailgate.ledger import customers
from mailgate.models import Message, MessageState

Handler = Callable[[Session, Context, Message, Intent, datetime], tuple[str, str]]


def _register(
    session: Session, ctx: Context, message: Message, intent: Intent, now: datetime
) -> tuple[str, str]:
    outcome = customers.signup_mail(session, ctx, message, intent.customer["email"], now)
    for note in intent.notes:
        audit.record(session, "note", f"message:{message.id}", message_id=message.id, note=note)
    return MessageState.APPLIED, outcome


def _ignore(
    session: Session, ctx: Context, message: Message, intent: Intent, now: datetime
) -> tuple[str, str]:
    return MessageState.IGNORED, intent.reason


def _hold(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> tuple[str, str]:
    return MessageState.HELD, intent.reason


HANDLERS: dict[str, Handler] = {"register": _register, "ignore": _ignore, "hold": _hold}


def apply(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> None:
    handler = HANDLERS.get(intent.action)
    if handler is None:
        state, reason = MessageState.HELD, f"{intent.action} is not handled yet: an operator must apply it"
    else:
        state, reason = handler(session, ctx, message, intent, now)
    message.state = state
    message.reason = reason
    message.processed_at = now
    message.decision = {"rules_version": ctx.rules.version, "intent": intent.record()}
    session.add(message)
    audit.record(
        session,
        f"message_{state}",
        f"message:{message.id}",
        message_id=message.id,
        reason=reason,
        action=intent.action,
        rule=intent.rule,
    )
