"""Mail to the booking address, for a registered customer (dispatch sends everyone else the
registration link first): the request read against the shop's names and today's date, the reply tied
to its list, キャンセル to its booking — then the ledger command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import mail_booking, mail_waitlist, reply_keys
from mailgate.ledger.customers import by_email
from mailgate.ledger.results import Result, Status
from mailgate.models import Customer, CustomerStatus, MessageState, ReplyKey
from mailgate.pipeline.outcome import Outcome
from mailgate.rules.intent import Intent
from mailgate.rules.ja.requests import Words, read_request

Handler = Callable[[Session, Context, Intent, Customer, Actor, datetime], Outcome]


def registered(session: Session, intent: Intent) -> Customer | None:
    customer = by_email(session, intent.customer.get("email", ""))
    return customer if customer is not None and customer.status == CustomerStatus.ACTIVE else None


def request(
    session: Session, ctx: Context, intent: Intent, customer: Customer, actor: Actor, now: datetime
) -> Outcome:
    cal = ctx.calendar
    words = Words(intent.fields.get("first", ""), intent.fields.get("words", ""))
    read = read_request(
        words,
        cal.local(now).date(),
        [(m.name, m.aliases) for m in cal.menus],
        cal.aliases if cal.staff else {},
    )
    notes = list(read.problems)
    if read.menu_alternatives:
        notes.append(("menu_guess", "」「".join(read.menu_alternatives)))
    ask = mail_booking.Ask(
        customer.id or 0,
        menu=read.menu,
        day=read.day,
        after=read.after,
        before=read.before,
        staff=read.staff,
        notes=tuple(notes),
    )
    return _outcome(mail_booking.offer(session, ctx.ledger, ask, actor, now), "offered")


def reply(
    session: Session, ctx: Context, intent: Intent, customer: Customer, actor: Actor, now: datetime
) -> Outcome:
    key = _tied(session, intent, customer)
    given = tuple(str(a) for a in intent.fields.get("answers", ()))
    choice = mail_booking.Choice(
        customer.id or 0, int(intent.fields["number"]), key.id if key else None, given
    )
    result = mail_booking.choose(session, ctx.ledger, choice, actor, now)
    tags = {Status.CREATED: "created", Status.ALREADY: "already", Status.TAKEN: "taken"}
    return _outcome(result, tags.get(result.status, "offered"))


def cancel(
    session: Session, ctx: Context, intent: Intent, customer: Customer, actor: Actor, now: datetime
) -> Outcome:
    key = _tied(session, intent, customer)
    result = mail_booking.cancel_links(
        session, ctx.ledger, customer.id or 0, key.id if key else None, actor, now
    )
    return _outcome(result, "cancel_link")


def wait(
    session: Session, ctx: Context, intent: Intent, customer: Customer, actor: Actor, now: datetime
) -> Outcome:
    key = _tied(session, intent, customer)
    result = mail_waitlist.wait(session, ctx.ledger, customer.id or 0, key.id if key else None, actor, now)
    return _outcome(result, "waiting" if result.status in (Status.CREATED, Status.ALREADY) else "offered")


def _tied(session: Session, intent: Intent, customer: Customer) -> ReplyKey | None:
    return reply_keys.tied(
        session, intent.fields.get("tag", ""), intent.fields.get("replying_to", []), customer.id or 0
    )


def _outcome(result: Result, tag: str) -> Outcome:
    if result.status == Status.SUPPRESSED:  # `messages --state held` shows the mail nobody answered
        return Outcome(MessageState.HELD, result.reason, "suppressed")
    return Outcome(MessageState.APPLIED, result.reason, tag)
