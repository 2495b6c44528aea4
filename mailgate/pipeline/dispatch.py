"""An Intent from a stored message becomes a ledger command; the command's result becomes the
message's final state. All in the caller's single transaction, so a crash leaves all of it or none.

Deferring belongs here, not to the ledger: a change or cancel whose booking is not in the ledger yet
waits as a `deferred` message, and the booking's arrival puts it back in line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from mailgate import audit, db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.inbound.store import DERIVED_ID_SUFFIX
from mailgate.ledger import booking_mail, bookings, bounces, inquiries, signup
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, Message, MessageState
from mailgate.pipeline import book_by_mail, deferred, known
from mailgate.pipeline.outcome import Outcome
from mailgate.rules.intent import Intent

Handler = Callable[[Session, Context, Message, Intent, datetime], Outcome]


def actor_of(message: Message) -> Actor:
    derived = message.header_message_id.endswith(DERIVED_ID_SUFFIX)
    return Actor(
        f"message:{message.id}", message_id=message.id, reply_to="" if derived else message.header_message_id
    )


def _utc(iso: str | None) -> datetime | None:
    """Notices give times with the shop's offset; the ledger keeps UTC."""
    return datetime.fromisoformat(iso).astimezone(UTC) if iso else None


def _start(intent: Intent) -> datetime:
    start = _utc(intent.fields.get("start"))
    assert start is not None  # the rules engine holds notices without a start
    return start


def _applied(result: Result) -> Outcome:
    return Outcome(MessageState.APPLIED, result.reason, str(result.status))


def _register(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    actor = actor_of(message)
    # The sender's customer, as `apply` found it; on PostgreSQL looked up again after the signup's lock.
    found = session.info.pop(_SENDER, signup.UNKNOWN) if db.sole_writer(session) else signup.UNKNOWN
    result = signup.signup_mail(session, ctx.ledger, intent.customer["email"], actor, now, found=found)
    for note in intent.notes:
        audit.by(session, "note", actor, note=note)
    if result.status == Status.SUPPRESSED:  # `messages --state held` shows the mail nobody answered
        return Outcome(MessageState.HELD, result.reason, "suppressed")
    return Outcome(MessageState.APPLIED, result.reason, "registered")


def _book(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    f = intent.fields
    cmd = bookings.Book(
        source=intent.source or "mail",
        start=_start(intent),
        end=_utc(f.get("end")),
        staff=f.get("staff"),
        menu=f.get("menu"),
        customer=Person.of(intent.customer),
        external_id=f.get("external_id"),
        as_of=_utc(intent.notice_at),
    )
    result = bookings.book(session, ctx.ledger, cmd, actor_of(message), now)
    if result.status in (Status.CREATED, Status.LINKED, Status.CONFLICT):
        deferred.release(session, cmd.source, cmd.external_id, now)
    return _applied(result)


def _not_found(ctx: Context, message: Message, intent: Intent, result: Result) -> Outcome:
    if result.status == Status.NOT_FOUND:
        return deferred.defer(
            ctx.cfg, message, intent.source, intent.fields.get("external_id"), result.reason
        )
    if result.status == Status.REFUSED:
        return Outcome(MessageState.HELD, result.reason, "held")
    return _applied(result)


def _change(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    f = intent.fields
    cmd = bookings.Move(
        source=intent.source,
        external_id=f.get("external_id"),
        start=_start(intent),
        end=_utc(f.get("end")),
        staff=f.get("staff", bookings.KEEP),
        menu=f.get("menu"),
        previous_start=_utc((f.get("previous") or {}).get("start")),
        customer=Person.of(intent.customer),
        as_of=_utc(intent.notice_at),
        unordered=intent.notice_at is None,
    )
    result = bookings.move(session, ctx.ledger, cmd, actor_of(message), now)
    _tell_customer(session, ctx, result, Status.MOVED, "changed", message, now)
    return _not_found(ctx, message, intent, result)


def _cancel(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    f = intent.fields
    cmd = bookings.Cancel(
        source=intent.source,
        external_id=f.get("external_id"),
        start=_utc(f.get("start")),
        customer=Person.of(intent.customer),
    )
    result = bookings.cancel(session, ctx.ledger, cmd, actor_of(message), now)
    _tell_customer(session, ctx, result, Status.CANCELLED, "cancelled", message, now)
    return _not_found(ctx, message, intent, result)


def _tell_customer(
    session: Session, ctx: Context, result: Result, status: Status, what: str, message: Message, now: datetime
) -> None:
    """A vendor's change or cancel, mailed to the customer too when the shop wants that."""
    if result.status != status or not ctx.cfg.booking.notify_vendor_changes or result.booking_id is None:
        return
    booking = session.get(Booking, result.booking_id)
    if booking is not None:
        booking_mail.notify(session, ctx.ledger, booking, what, actor_of(message), now, staff=False)


def _inquiry(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    cmd = inquiries.Ask(
        source=intent.source or "mail",
        kind=intent.fields.get("kind") or "question",
        body=intent.fields.get("message", ""),
        person=Person.of(intent.customer),
        received_at=message.received_at or now,
    )
    result = inquiries.record(session, cmd, actor_of(message), now)
    return Outcome(
        MessageState.APPLIED, result.reason, "inquiry" if result.status == Status.RECORDED else "already"
    )


def _ignore(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    return Outcome(MessageState.IGNORED, intent.reason, "ignored")


def _hold(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    return Outcome(MessageState.HELD, intent.reason, "held")


def _bounce(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    result = bounces.record(session, ctx.ledger, bounces.Bounce.of(intent.fields), actor_of(message), now)
    if result.code == "ignored":
        return Outcome(MessageState.IGNORED, result.reason, "ignored")
    return _applied(result)


def _by_mail(handler: book_by_mail.Handler) -> Handler:
    """A booking by mail is a registered customer's: anyone else gets the registration link first."""

    def run(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
        customer = book_by_mail.registered(session, intent)
        if customer is None:
            return _register(session, ctx, message, intent, now)
        return handler(session, ctx, intent, customer, actor_of(message), now)

    return run


HANDLERS: dict[str, Handler] = {
    "register": _register,
    "book": _book,
    "change": _change,
    "cancel": _cancel,
    "inquiry": _inquiry,
    "ignore": _ignore,
    "hold": _hold,
    "book_request": _by_mail(book_by_mail.request),
    "book_reply": _by_mail(book_by_mail.reply),
    "cancel_request": _by_mail(book_by_mail.cancel),
    "bounce": _bounce,
    "wait_request": _by_mail(book_by_mail.wait),
}
# A customer's own mail: their address works again, whatever bounced before.
_SENDER = "mailgate_sender"  # the customer of its address, looked up once for this message
NOTICES = ("book", "change", "cancel")  # a vendor's notice: applied once, whatever wraps it
WRITES_IN = ("register", "book_request", "book_reply", "cancel_request", "wait_request")


def _applied_before(session: Session, message: Message, intent: Intent) -> Outcome | None:
    """The same vendor notice already applied, by this message (a replay) or in another wrapper: a
    notice applies once."""
    if not intent.notice_key or intent.action not in NOTICES:
        return None
    earlier: int | None = message.id if message.notice_key == intent.notice_key else None
    applied = known.applied_by(session, intent.notice_key) if earlier is None else None
    if applied is not None:
        earlier = next((i for i in applied if i != message.id), None)
    elif earlier is None:
        stmt = select(Message.id).where(
            Message.notice_key == intent.notice_key,
            Message.state == MessageState.APPLIED,
            Message.id != message.id,
        )
        earlier = session.exec(stmt.order_by(col(Message.id))).first()
    if earlier is None:
        return None
    name = bookings.label(intent.source, intent.fields.get("external_id"))
    by = "this message" if earlier == message.id else f"message {earlier} (the same notice)"
    reason = f"{name} already applied by {by}: nothing changed"
    return Outcome(MessageState.APPLIED, reason, "already")


def apply(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    if intent.action in WRITES_IN:
        session.info[_SENDER] = bounces.wrote_in(session, intent.customer.get("email", ""), actor_of(message))
    try:
        outcome = _applied_before(session, message, intent) or HANDLERS[intent.action](
            session, ctx, message, intent, now
        )
    finally:
        session.info.pop(_SENDER, None)
    if outcome.state == MessageState.APPLIED and intent.notice_key:
        message.notice_key = intent.notice_key
    previous = message.decision
    message.state = outcome.state
    message.reason = outcome.reason
    message.processed_at = now
    if outcome.state != MessageState.DEFERRED:
        message.waiting_for = None
    known.recorded(session, message)
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
    audit.by(
        session,
        f"message_{outcome.state}",
        actor_of(message),
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
