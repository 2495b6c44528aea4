"""Booking by mail alone, for a registered customer: a request gets a short numbered list of the
earliest free times (at most 9: a one-digit reply), a reply with a number books that time through
the same command as a page (fitting.book, the customer's rules, the seat the database guards), and
キャンセル gets the booking's one-tap cancel link. Every answer is mail the shop owes the customer;
none is silence: a list that ran out, was used, or whose time was taken meanwhile brings a fresh one
with a word on why."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from mailgate import audit, deadlines
from mailgate.audit import Actor
from mailgate.ledger import answers, booking_links, booking_mail, fit_rules, fitting, reply_keys
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.free_times import Wanted, earliest
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus, Customer, Outbox, ReplyKey
from mailgate.shop.calendar import Menu
from mailgate.times import fmt_day

MAX_TIMES = 9  # one digit to reply with
LIST_HOURS = 24  # a list answers for a day; its times are checked again when one is chosen
Note = tuple[str, str]  # (code, the customer's words): the mail template words it in Japanese


@dataclass(frozen=True)
class Ask:
    """What a customer asked for; a fresh list asks again for the same."""

    customer_id: int
    menu: str | None = None  # None: the shop's first menu, and the answer says so
    day: date | None = None
    after: time | None = None
    before: time | None = None
    staff: str | None = None
    notes: tuple[Note, ...] = ()
    offer: bool = True  # False: only the notes (a limit is reached)
    # An answer to a reply tied to its mail is owed to the customer; any other answer is capped like
    # every automatic reply, since anyone can write a registered customer's From.
    owed: bool = False
    # The time a reply chose and found taken: 「待つ」 in reply joins its waitlist (mail_waitlist.py).
    full: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        def iso(value: date | time | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "menu": self.menu,
            "day": iso(self.day),
            "after": iso(self.after),
            "before": iso(self.before),
            "staff": self.staff,
            **({"full": self.full} if self.full else {}),
        }

    @classmethod
    def again(cls, key: ReplyKey, *notes: Note) -> Ask:
        data = key.ask or {}
        return cls(
            customer_id=key.customer_id,
            menu=data.get("menu"),
            day=date.fromisoformat(data["day"]) if data.get("day") else None,
            after=time.fromisoformat(data["after"]) if data.get("after") else None,
            before=time.fromisoformat(data["before"]) if data.get("before") else None,
            staff=data.get("staff"),
            notes=notes,
            owed=True,
        )


@dataclass(frozen=True)
class Choice:
    customer_id: int
    number: int
    key_id: int | None  # the list the reply is tied to; None: it is tied to none
    answers: tuple[str, ...] = ()  # the reply's lines after the number: the menu's questions answered


def offer(session: Session, env: LedgerEnv, ask: Ask, actor: Actor, now: datetime) -> Result:
    """Mail the customer the earliest free times for what they asked, with its own reply address."""
    cal = env.calendar
    customer = session.get(Customer, ask.customer_id)
    assert customer is not None
    if not ask.owed and (why := env.mailer.suppressed(session, customer.email, now, actor)):
        return _suppressed(session, actor, customer, why)
    menu = next((m for m in cal.menus if m.name == ask.menu), cal.menus[0] if cal.menus else None)
    notes = list(ask.notes)
    times = []
    offered = ask.offer and not fit_rules.open_limit_reached(session, env, customer.id or 0, now)
    if ask.offer and not offered:
        notes.append(("limit", ""))
    if menu is not None and offered:
        today = cal.local(now).date()
        if ask.day and ask.day > today + timedelta(days=menu.ahead_days):
            notes.append(("too_far", str(menu.ahead_days)))
        first_day = ask.day if ask.day and ask.day <= today + timedelta(days=menu.ahead_days) else None
        wanted = Wanted(first_day, ask.after, ask.before, ask.staff)
        times = earliest(session, cal, menu, wanted, now, MAX_TIMES)
        if first_day and times and cal.local(times[0].start).date() > first_day:
            notes.append(("none_that_day", fmt_day(first_day)))
    shown = [{"start": o.start.isoformat(), "staff": ask.staff} for o in times]
    key = reply_keys.new(
        session,
        customer.id or 0,
        now,
        now + timedelta(hours=LIST_HOURS),
        menu=menu.name if menu else "",
        offers=shown,
        ask=ask.record(),
    )
    mail = _answer(
        session,
        env,
        customer,
        "book_list",
        actor,
        now,
        capped=not ask.owed,
        reply_address=reply_keys.address(env.cfg, key.key),
        menu=menu.name if menu else "",
        menu_by_default=menu is not None and ask.menu is None,
        other_menus=[m.name for m in cal.menus if menu is None or m.name != menu.name],
        questions=[answers.asked(q) for q in menu.questions] if menu is not None else [],
        staff=ask.staff or "",
        times=[_line(env, o.start) for o in times],
        notes=notes,
        offered=offered,
        waitable=ask.full is not None,
        hours=LIST_HOURS,
    )
    reply_keys.sent(key, mail)
    return Result(Status.CREATED, f"{len(times)} free times mailed (list {key.key})")


def choose(session: Session, env: LedgerEnv, choice: Choice, actor: Actor, now: datetime) -> Result:
    """The time numbered in the reply, booked; or a fresh list saying why not."""
    key = session.get(ReplyKey, choice.key_id) if choice.key_id is not None else None
    if key is None or (key.booking_id is not None and key.used_at is None):
        return _again(session, env, Ask(choice.customer_id, notes=(("no_list", ""),)), actor, now, "no list")
    if key.used_at is not None:
        if key.used_by_message_id is not None and key.used_by_message_id == actor.message_id:
            done = f"list {key.key} booked as {key.booking_id} already"
            return Result(Status.ALREADY, done, key.booking_id)
        return _again(session, env, Ask.again(key, ("used", "")), actor, now, f"list {key.key} was used")
    if key.expires_at <= now:
        return _again(session, env, Ask.again(key, ("expired", "")), actor, now, f"list {key.key} expired")
    if not 1 <= choice.number <= len(key.offers):
        note = ("not_on_list", str(choice.number))
        return _again(session, env, Ask.again(key, note), actor, now, f"{choice.number} is not on the list")
    chosen = key.offers[choice.number - 1]
    cmd = fitting.FitBook(
        source="mail",
        start=datetime.fromisoformat(chosen["start"]),
        menu=key.menu,
        staff=chosen.get("staff"),
        customer_id=key.customer_id,
        idempotency_key=f"replykey:{key.id}",
        answers=_answers(env, key.menu, choice.answers),
    )
    result = fitting.book(session, env, cmd, actor, now)
    if result.status in (Status.CREATED, Status.ALREADY):
        key.used_at, key.used_by_message_id, key.booking_id = now, actor.message_id, result.booking_id
        session.add(key)
        return result
    if result.code == "limit":
        ask = Ask(key.customer_id, notes=(("limit", ""),), offer=False, owed=True)
        return _again(session, env, ask, actor, now, result.reason, result)
    if result.status == Status.TAKEN:
        ask = replace(Ask.again(key, ("taken", "")), full={**chosen, "menu": key.menu})
        return _again(session, env, ask, actor, now, result.reason, result)
    note = (result.code or "refused", "")
    return _again(session, env, Ask.again(key, note), actor, now, result.reason, result)


def cancel_links(
    session: Session, env: LedgerEnv, customer_id: int, key_id: int | None, actor: Actor, now: datetime
) -> Result:
    """キャンセル in reply: the one-tap cancel link of the booking the mail answered was about (the
    link's page asks to confirm, then cancels), or of each upcoming booking when it answered none."""
    key = session.get(ReplyKey, key_id) if key_id is not None else None
    customer = session.get(Customer, customer_id)
    assert customer is not None
    if key is None and (why := env.mailer.suppressed(session, customer.email, now, actor)):
        return _suppressed(session, actor, customer, why)
    about = session.get(Booking, key.booking_id) if key is not None and key.booking_id else None
    if about is not None:
        bookings = [about]
    else:
        stmt = (
            select(Booking)
            .where(
                Booking.customer_id == customer_id,
                col(Booking.status).in_(BookingStatus.LIVE),
                col(Booking.start) > now,
            )
            .order_by(col(Booking.start))
            .limit(MAX_TIMES)
        )
        bookings = list(session.exec(stmt))
    items = [_cancellable(session, env, b, now) for b in bookings]
    answered = about is not None
    # Its replies come back to the booking address, not to the sender (the signup address).
    book = env.cfg.mail.book
    _answer(
        session, env, customer, "book_cancel", actor, now, key is None, book, items=items, answered=answered
    )
    links = sum(1 for i in items if i["cancel_url"])
    return Result(Status.CREATED, f"cancel links mailed: {links} of {len(items)} bookings")


def _answer(
    session: Session,
    env: LedgerEnv,
    customer: Customer,
    template: str,
    actor: Actor,
    now: datetime,
    capped: bool,
    reply_address: str = "",
    **context: object,
) -> Outbox | None:
    return env.mailer.enqueue(
        session,
        to=customer.email,
        template=template,
        now=now,
        actor=actor,
        customer_id=customer.id,
        capped=capped,
        reply_address=reply_address,
        customer=customer,
        phone=env.cfg.shop.phone,
        **context,
    )


def _cancellable(session: Session, env: LedgerEnv, booking: Booking, now: datetime) -> dict[str, Any]:
    menu: Menu | None = next((m for m in env.calendar.menus if m.name == booking.menu), None)
    live = booking.status in BookingStatus.LIVE and booking.start > now
    late = menu is not None and now > deadlines.latest(menu.cancel_until, booking.start, env.cfg.tz)
    return {
        "booking": booking_mail.view(env, booking),
        "live": live,
        "late": live and late,
        "until": deadlines.describe(menu.cancel_until) if menu else "",
        "cancel_url": booking_links.issue(session, booking, "cancel", now) if live and not late else None,
    }


def _again(
    session: Session,
    env: LedgerEnv,
    ask: Ask,
    actor: Actor,
    now: datetime,
    why: str,
    result: Result | None = None,
) -> Result:
    """A fresh list (or only the explanation), and the result that says why there was one."""
    if (done := offer(session, env, ask, actor, now)).status == Status.SUPPRESSED:
        return done
    status = result.status if result is not None else Status.REFUSED
    return Result(status, f"{why}: a fresh list mailed", code=result.code if result else "list")


def _suppressed(session: Session, actor: Actor, customer: Customer, why: str) -> Result:
    audit.by(session, "reply_suppressed", actor, customer_id=customer.id, why=why)
    return Result(Status.SUPPRESSED, f"reply suppressed: {why}")


def _answers(env: LedgerEnv, menu_name: str, given: tuple[str, ...]) -> tuple[str, ...]:
    """A reply's lines as answers to the menu's questions (asked in the list mail): none when the
    menu asks nothing; every one, blank where missing, when it asks something required."""
    menu = next((m for m in env.calendar.menus if m.name == menu_name), None)
    if menu is None or not menu.questions or not (given or any(q.required for q in menu.questions)):
        return ()
    padded = [*given, *[""] * len(menu.questions)][: len(menu.questions)]
    return tuple(answers.from_mail(q, a) for q, a in zip(menu.questions, padded, strict=True))


def _line(env: LedgerEnv, start: datetime) -> str:
    local = start.astimezone(env.cfg.tz)
    return f"{fmt_day(local.date())} {local:%H:%M}"
