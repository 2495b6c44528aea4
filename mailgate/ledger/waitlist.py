"""The waitlist of a full time (キャンセル待ち). A registered customer joins it from the booking pages
(a full time, or 「ちょうど埋まりました」) or by replying 「待つ」 to the mail that says so. When a seat
frees (a cancel, a booking moved away, a vendor's cancel or change, an offer or hold the expire job
ends), the same transaction offers it to the first one waiting who can still have it: the seat is held
for them as a tentative booking for [booking] waitlist_offer_minutes, with a claim link by mail;
unclaimed, the job expires the hold and the seat passes to the next one. The job also hands every
waited-for day over again each minute (sweep), for seats freed without a word. An offer is made by the
customer's own rules (fit_rules: deadline, limits, a free time, the seat the database guards), so
nobody is offered a seat that is already gone; who booked another time meanwhile, or is over their
limits, is skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.audit import Actor
from mailgate.followup_tables import WaitEntry, WaitState
from mailgate.ledger import booking_links, booking_mail, conflict_records
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.fit_rules import (
    CUSTOMER,
    Refused,
    add_holding,
    booking_at,
    check_deadline,
    check_horizon,
    check_limits,
    created,
    find_offer,
    menu_of,
    refuse,
)
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus, Customer, CustomerStatus

SOURCE = "waitlist"  # the held seat's booking source
# What became of an offer when its held booking ended.
_ENDED = {BookingStatus.EXPIRED: WaitState.EXPIRED, BookingStatus.CANCELLED: WaitState.LEFT}
# Why an offer could not be made, by the refusal's code: the time passed, or the customer cannot book.
_GONE = {"late": WaitState.EXPIRED, "too_far": WaitState.EXPIRED}


@dataclass(frozen=True)
class Join:
    customer_id: int
    menu: str
    start: datetime
    staff: str | None = None  # a canonical name; None: anyone
    notify: bool = False  # mail the confirmation (a join by mail; a page shows it itself)


def open_key(customer_id: int, start: datetime) -> str:
    return f"{customer_id}:{start.astimezone(UTC):%Y%m%dT%H%M}"


def join(session: Session, env: LedgerEnv, cmd: Join, actor: Actor, now: datetime) -> Result:
    """Wait for a full time; refused when the time is free after all (book it) or can no longer be booked."""
    cal = env.calendar
    try:
        menu = menu_of(cal, cmd.menu)
        staff = cal.staff_named(cmd.staff) if cmd.staff else None
        if cmd.staff and staff is None:
            raise refuse("staff", f"no staff member called {cmd.staff!r}")
        check_deadline(cal, menu.book_until, cmd.start, now, "book")
        check_horizon(cal, menu, cmd.start, now)
        try:
            find_offer(session, cal, menu, cmd.start, staff, now, CUSTOMER)
        except Refused:
            pass  # full: what a waitlist is for
        else:
            raise refuse("free", "that time is free: book it instead of waiting")
    except Refused as r:
        return r.result
    key = open_key(cmd.customer_id, cmd.start)
    if (found := session.exec(select(WaitEntry).where(WaitEntry.open_key == key)).first()) is not None:
        return Result(Status.ALREADY, f"waiting already (entry {found.id})", state=found.state)
    entry = WaitEntry(
        customer_id=cmd.customer_id,
        menu=menu.name,
        start=cmd.start,
        staff=staff,
        open_key=key,
        created_at=now,
        updated_at=now,
    )
    session.flush()
    try:
        with session.begin_nested():  # the same join twice at once: one entry
            session.add(entry)
            session.flush()
    except IntegrityError:
        return Result(Status.ALREADY, "waiting already", state=WaitState.WAITING)
    place = position(session, entry)
    audit.by(
        session,
        "waitlist_joined",
        actor,
        customer_id=cmd.customer_id,
        entry=entry.id,
        start=cmd.start.isoformat(),
        menu=menu.name,
        place=place,
        at=now,
    )
    if cmd.notify:
        _mail(session, env, entry, "waitlist_joined", actor, now, place=place, start=_when(env, cmd.start))
    return Result(Status.CREATED, f"waiting as number {place} (entry {entry.id})", state=WaitState.WAITING)


def leave(session: Session, customer_id: int, entry_id: int, actor: Actor, now: datetime) -> Result:
    """The customer no longer waits (マイページ); an offered seat is claimed or cancelled by its links."""
    entry = session.exec(
        select(WaitEntry)
        .where(WaitEntry.id == entry_id, WaitEntry.customer_id == customer_id)
        .with_for_update()
    ).first()
    if entry is None:
        return Result(Status.NOT_FOUND, f"no waitlist entry {entry_id} of this customer")
    if entry.state != WaitState.WAITING:
        return Result(Status.ALREADY, f"entry {entry_id} is {entry.state}", state=entry.state)
    _close(session, entry, WaitState.LEFT, now, why=f"left by {actor.name}")
    return Result(Status.CANCELLED, f"entry {entry_id} left the waitlist", state=WaitState.LEFT)


def waits_of(session: Session, env: LedgerEnv, customer_id: int, now: datetime) -> list[dict[str, object]]:
    """The times the customer waits for, soonest first, as マイページ shows them."""
    stmt = select(WaitEntry).where(
        WaitEntry.customer_id == customer_id,
        WaitEntry.state == WaitState.WAITING,
        col(WaitEntry.start) > now,
    )
    return [
        {"id": e.id, "when": _when(env, e.start), "menu": e.menu, "staff": e.staff or "指名なし"}
        for e in session.exec(stmt.order_by(col(WaitEntry.start)))
    ]


def position(session: Session, entry: WaitEntry) -> int:
    """Where the entry stands among those still waiting for its time (1: offered first)."""
    ahead = select(WaitEntry.id).where(
        WaitEntry.start == entry.start,
        WaitEntry.state == WaitState.WAITING,
        col(WaitEntry.id) < (entry.id or 0),
    )
    return len(session.exec(ahead).all()) + 1


def seat_freed(
    session: Session, env: LedgerEnv, booking: Booking, now: datetime, *, at: datetime | None = None
) -> list[int]:
    """`booking` let its seat go (at `at`, its own time by default): its own offer, if it was one,
    ends; then the seats of that day go to those waiting, first come first offered. The entries offered."""
    entry = session.exec(
        select(WaitEntry).where(WaitEntry.booking_id == booking.id, WaitEntry.state == WaitState.OFFERED)
    ).first()
    if entry is not None and booking.status in _ENDED:
        _close(session, entry, _ENDED[booking.status], now)
    return hand_over(session, env, env.calendar.local(at or booking.start).date(), now)


def hold_days(session: Session, env: LedgerEnv, now: datetime) -> None:
    """The expire job's first step: every shop day it may touch (the holds that ran out, the times
    waited for), taken in one sorted go before any booking, the order commands take them in."""
    due = select(Booking.start, Booking.end).where(
        Booking.status == BookingStatus.TENTATIVE, col(Booking.expires_at) <= now
    )
    waited = select(WaitEntry.start).where(WaitEntry.state == WaitState.WAITING, col(WaitEntry.start) > now)
    minute = timedelta(minutes=1)
    spans = [*session.exec(due), *((start, start + minute) for start in session.exec(waited))]
    conflict_records.serialize_days(session, env, *spans)


def sweep(session: Session, env: LedgerEnv, now: datetime) -> list[int]:
    """Each minute (the expire job): offers whose booking ended by another way (expired by a command on
    its way, cancelled, confirmed) are settled, and every day someone waits for is handed over again,
    so a seat freed without a word (a hold expired on the way, a shift added) still reaches them."""
    offered = select(WaitEntry, Booking).join(Booking, col(Booking.id) == WaitEntry.booking_id)
    for entry, booking in session.exec(offered.where(WaitEntry.state == WaitState.OFFERED)).all():
        ended = WaitState.CLAIMED if booking.status == BookingStatus.CONFIRMED else _ENDED.get(booking.status)
        if ended is not None:
            _close(session, entry, ended, now)
    past = select(WaitEntry).where(WaitEntry.state == WaitState.WAITING, col(WaitEntry.start) <= now)
    for entry in session.exec(past).all():
        _close(session, entry, WaitState.EXPIRED, now, why="the time passed")
    starts = select(WaitEntry.start).where(WaitEntry.state == WaitState.WAITING, col(WaitEntry.start) > now)
    days = sorted({env.calendar.local(start).date() for start in session.exec(starts)})
    return [entry for day in days for entry in hand_over(session, env, day, now)]


def hand_over(session: Session, env: LedgerEnv, day: date, now: datetime) -> list[int]:
    """Offer what is free on the shop's `day` to those waiting for a time that day, in order."""
    cal = env.calendar
    lo = datetime.combine(day, time.min, cal.tz)
    waiting = select(WaitEntry).where(
        WaitEntry.state == WaitState.WAITING,
        col(WaitEntry.start) >= lo,
        col(WaitEntry.start) < lo + timedelta(days=1),
    )
    found = session.exec(waiting.order_by(col(WaitEntry.id)).with_for_update()).all()
    return [entry.id or 0 for entry in found if _offer(session, env, entry, now)]


def _offer(session: Session, env: LedgerEnv, entry: WaitEntry, now: datetime) -> bool:
    customer = session.get(Customer, entry.customer_id)
    if customer is None or customer.status != CustomerStatus.ACTIVE:  # 退会 or erased since
        _close(session, entry, WaitState.LEFT, now, why="no longer a customer")
        return False
    if _booked_since(session, entry, now):
        _close(session, entry, WaitState.SKIPPED, now, why="booked another time meanwhile")
        return False
    try:
        booking = _hold(session, env, entry, now)
    except Refused as r:
        if r.result.status == Status.TAKEN:
            return False  # not this one's seat: they keep waiting
        _close(session, entry, _GONE.get(r.result.code, WaitState.SKIPPED), now, why=r.result.reason)
        return False
    entry.state, entry.booking_id, entry.offer_until = WaitState.OFFERED, booking.id, booking.expires_at
    entry.updated_at = now
    session.add(entry)
    audit.by(
        session,
        "waitlist_offered",
        audit.SYSTEM,
        customer_id=entry.customer_id,
        booking_id=booking.id,
        entry=entry.id,
        until=booking.expires_at.isoformat() if booking.expires_at else None,
        at=now,
    )
    claim = booking_links.issue(session, booking, "claim", now)
    shown = booking_mail.view(env, booking)
    _mail(session, env, entry, "waitlist_offer", audit.SYSTEM, now, booking=shown, claim_url=claim)
    return True


def _hold(session: Session, env: LedgerEnv, entry: WaitEntry, now: datetime) -> Booking:
    """The seat held for the entry's customer as a tentative booking, by the customer's rules (the
    deadline, how far ahead, their limits, a free time), or Refused."""
    cal = env.calendar
    menu = menu_of(cal, entry.menu)
    check_deadline(cal, menu.book_until, entry.start, now, "book")
    check_horizon(cal, menu, entry.start, now)
    check_limits(session, env, entry.customer_id, entry.start, now)
    offer = find_offer(session, cal, menu, entry.start, entry.staff, now, CUSTOMER)
    booking = booking_at(
        cal,
        menu,
        offer,
        now,
        source=SOURCE,
        idempotency_key=f"waitlist:{entry.id}",
        customer_id=entry.customer_id,
        status=BookingStatus.TENTATIVE,
        expires_at=now + timedelta(minutes=env.cfg.booking.waitlist_offer_minutes),
    )
    add_holding(session, cal, booking, menu, offer, entry.staff is not None)
    created(session, booking, audit.SYSTEM, now)
    return booking


def claimed(session: Session, booking_id: int, now: datetime) -> None:
    """The held seat's booking was confirmed by its claim link (ledger/waitlist_claim.py)."""
    entry = session.exec(
        select(WaitEntry).where(WaitEntry.booking_id == booking_id, WaitEntry.state == WaitState.OFFERED)
    ).first()
    if entry is not None:
        _close(session, entry, WaitState.CLAIMED, now)


def _booked_since(session: Session, entry: WaitEntry, now: datetime) -> bool:
    """The customer booked another time after joining (a seat offered from another waitlist too)."""
    stmt = select(Booking.id).where(
        Booking.customer_id == entry.customer_id,
        col(Booking.status).in_(BookingStatus.LIVE),
        col(Booking.created_at) >= entry.created_at,
        col(Booking.end) > now,
    )
    return session.exec(stmt).first() is not None


def _close(session: Session, entry: WaitEntry, state: str, now: datetime, why: str = "") -> None:
    entry.state, entry.open_key, entry.updated_at = state, None, now
    session.add(entry)
    audit.by(
        session,
        f"waitlist_{state}",
        audit.SYSTEM,
        customer_id=entry.customer_id,
        entry=entry.id,
        why=why,
        at=now,
    )


def _when(env: LedgerEnv, start: datetime) -> str:
    local = start.astimezone(env.cfg.tz)
    return f"{local:%Y年%m月%d日}({'月火水木金土日'[local.weekday()]}) {local:%H:%M}"


def _mail(
    session: Session,
    env: LedgerEnv,
    entry: WaitEntry,
    template: str,
    actor: Actor,
    now: datetime,
    **context: object,
) -> None:
    customer = session.get(Customer, entry.customer_id)
    if customer is None or not customer.email:
        return
    env.mailer.enqueue(
        session,
        to=customer.email,
        template=template,
        now=now,
        actor=actor,
        customer_id=customer.id,
        capped=False,  # owed: the customer asked to wait
        thread=template == "waitlist_joined",  # an offer answers nobody's mail
        customer=customer,
        menu=entry.menu,
        staff=entry.staff or "",
        phone=env.cfg.shop.phone,
        **context,
    )
