"""The waitlist of a full time, on SQLite and PostgreSQL: joining it, a freed seat held for the first
one waiting with a claim link, skipping who booked meanwhile, an offer that runs out passing to the
next one, and a claim racing the expire job."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from mailgate import config, db, jobs
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.followup_tables import WaitEntry
from mailgate.ledger import fitting, waitlist, waitlist_claim
from mailgate.ledger.fit_rules import DESK
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus, Customer, CustomerStatus, Outbox, Token
from mailgate.shop_tables import SeatClaim
from tests.conftest import write_config
from tests.ledger.conftest import AUTHN
from tests.ledger.test_fitting import NOW, SHOP, THU, book

WEB = Actor("link:session:1")
DESK_ACTOR = Actor("operator:test")
OFFER = timedelta(minutes=30)  # [booking] waitlist_offer_minutes


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=SHOP)))


def customer(ctx: Context, n: int) -> int:
    with db.transaction(ctx.engine) as s:
        c = Customer(
            email=f"w{n}@example.jp",
            email_key=f"w{n}@example.jp",
            status=CustomerStatus.ACTIVE,
            name=f"待{n}",
        )
        s.add(c)
        s.flush()
        assert c.id is not None
        return c.id


def full(ctx: Context, start: datetime = THU) -> list[int]:
    """Both staff members booked at `start`: the time is full."""
    ids = [book(ctx, start, n=n).booking_id for n in (1, 2)]
    assert book(ctx, start, n=3).status == Status.TAKEN
    return [i or 0 for i in ids]


def waiting(ctx: Context) -> tuple[int, int, int]:
    """A full time, and two customers waiting for it: (a booking at that time, the first, the second)."""
    first, _ = full(ctx)
    a, b = customer(ctx, 1), customer(ctx, 2)
    join(ctx, a)
    join(ctx, b)
    return first, a, b


def waiting_then_cancelled(ctx: Context) -> tuple[int, int]:
    """Two customers waiting, then a seat freed: (the first, offered it; the second, still waiting)."""
    first, a, b = waiting(ctx)
    cancel(ctx, first)
    return a, b


def join(ctx: Context, customer_id: int, start: datetime = THU, now: datetime = NOW) -> Result:
    with db.transaction(ctx.engine) as s:
        return waitlist.join(s, ctx.ledger, waitlist.Join(customer_id, "整体", start), WEB, now)


def cancel(ctx: Context, *booking_ids: int, now: datetime = NOW) -> None:
    with db.transaction(ctx.engine) as s:  # several at once: one transaction
        for booking_id in booking_ids:
            done = fitting.cancel(s, ctx.ledger, fitting.FitCancel(booking_id, policy=DESK), DESK_ACTOR, now)
            assert done.status == Status.CANCELLED


def entry(ctx: Context, customer_id: int) -> WaitEntry:
    with Session(ctx.engine) as s:
        return s.exec(
            select(WaitEntry).where(WaitEntry.customer_id == customer_id).order_by(col(WaitEntry.id).desc())
        ).first()  # type: ignore[return-value]


def held(ctx: Context, customer_id: int) -> Booking:
    found = entry(ctx, customer_id)
    with Session(ctx.engine) as s:
        booking = s.get(Booking, found.booking_id)
        assert booking is not None
        return booking


def offers_mailed(ctx: Context, customer_id: int) -> list[Outbox]:
    with Session(ctx.engine) as s:
        stmt = select(Outbox).where(Outbox.template == "waitlist_offer", Outbox.customer_id == customer_id)
        return list(s.exec(stmt))


def claim(ctx: Context, booking_id: int, now: datetime) -> Result:
    with db.transaction(ctx.engine) as s:
        return waitlist_claim.claim(s, ctx.ledger, booking_id, WEB, now)


def holders(ctx: Context) -> set[int]:
    with Session(ctx.engine) as s:
        return set(s.exec(select(SeatClaim.booking_id).distinct()))


def test_a_customer_joins_a_full_times_waitlist_once_and_never_a_free_times(salon: Context) -> None:
    a = customer(salon, 1)
    free = join(salon, a)
    assert (free.status, free.code) == (Status.REFUSED, "free")
    full(salon)
    assert join(salon, a).status == Status.CREATED
    assert join(salon, a).status == Status.ALREADY
    b = customer(salon, 2)
    assert "number 2" in join(salon, b).reason
    assert (entry(salon, a).state, entry(salon, b).state) == ("waiting", "waiting")


def test_a_cancel_holds_the_seat_for_the_first_waiting_with_a_claim_link_by_mail(salon: Context) -> None:
    a, b = waiting_then_cancelled(salon)
    offered = entry(salon, a)
    assert (offered.state, offered.offer_until) == ("offered", NOW + OFFER)
    hold = held(salon, a)
    assert (hold.status, hold.source, hold.start, hold.customer_id) == ("tentative", "waitlist", THU, a)
    assert hold.id in holders(salon)
    assert entry(salon, b).state == "waiting"
    [mail] = offers_mailed(salon, a)
    assert mail.links and [v[0] for v in mail.links.values()] == ["claim"]  # (purpose, token)
    assert book(salon, THU, n=9).status == Status.TAKEN  # the held seat is nobody else's


def test_the_claim_confirms_the_held_seat(salon: Context) -> None:
    a, _ = waiting_then_cancelled(salon)
    done = claim(salon, held(salon, a).id or 0, NOW + OFFER - timedelta(minutes=1))
    assert (done.status, done.state) == (Status.CONFIRMED, "confirmed")
    assert entry(salon, a).state == "claimed"
    with Session(salon.engine) as s:
        assert s.exec(
            select(Outbox).where(Outbox.template == "booking_confirmed", Outbox.customer_id == a)
        ).first()


def test_who_booked_another_time_meanwhile_is_skipped(salon: Context) -> None:
    first, a, b = waiting(salon)
    other = fitting.FitBook(source="web", start=THU + timedelta(hours=3), menu="整体", customer_id=a)
    with db.transaction(salon.engine) as s:
        assert fitting.book(s, salon.ledger, other, WEB, NOW + timedelta(minutes=1)).status == Status.CREATED
    cancel(salon, first, now=NOW + timedelta(minutes=2))
    assert (entry(salon, a).state, entry(salon, b).state) == ("skipped", "offered")
    assert offers_mailed(salon, a) == []


def test_an_offer_not_claimed_in_time_expires_and_passes_to_the_next(salon: Context) -> None:
    a, b = waiting_then_cancelled(salon)
    hold_a = held(salon, a)
    late = NOW + OFFER + timedelta(minutes=1)
    refused = claim(salon, hold_a.id or 0, late)  # before the job ran: refused all the same
    assert refused.status == Status.EXPIRED
    assert jobs.expire_tentative(salon, late) == [hold_a.id]
    assert entry(salon, a).state == "expired"
    assert (entry(salon, b).state, held(salon, b).status) == ("offered", "tentative")
    assert hold_a.id not in holders(salon) and held(salon, b).id in holders(salon)
    assert claim(salon, hold_a.id or 0, late).status == Status.EXPIRED  # and after it: still refused
    assert claim(salon, held(salon, b).id or 0, late).status == Status.CONFIRMED


def test_two_seats_freeing_at_once_go_to_the_first_two_waiting(salon: Context) -> None:
    first, second = full(salon)
    a, b, c = customer(salon, 1), customer(salon, 2), customer(salon, 3)
    for who in (a, b, c):
        join(salon, who)
    cancel(salon, first, second)
    assert [entry(salon, x).state for x in (a, b, c)] == ["offered", "offered", "waiting"]
    assert {held(salon, a).staff, held(salon, b).staff} == {"佐藤", "田中"}


def test_a_claim_racing_the_expire_job_either_confirms_or_passes_the_seat_on(salon: Context) -> None:
    a, b = waiting_then_cancelled(salon)
    hold_a = held(salon, a).id or 0
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, object] = {}

    def claimer() -> None:
        barrier.wait()
        results["claim"] = claim(salon, hold_a, NOW + OFFER - timedelta(seconds=1))

    def expirer() -> None:
        barrier.wait()
        results["expired"] = jobs.expire_tentative(salon, NOW + OFFER + timedelta(minutes=1))

    threads = [threading.Thread(target=claimer), threading.Thread(target=expirer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = results["claim"].status == Status.CONFIRMED  # type: ignore[attr-defined]
    assert results["expired"] == ([] if claimed else [hold_a])
    states = (entry(salon, a).state, entry(salon, b).state)
    assert states == (("claimed", "waiting") if claimed else ("expired", "offered"))
    with Session(salon.engine) as s:
        live = s.exec(
            select(Booking.id).where(Booking.start == THU, col(Booking.status).in_(BookingStatus.HOLDING))
        ).all()
    assert len(live) == 2 and set(live) <= holders(salon)  # two seats, never three


def test_a_vendors_cancel_frees_the_seat_for_the_waitlist_too(salon: Context) -> None:
    from mailgate.ledger import bookings
    from mailgate.ledger.matching import Person

    with db.transaction(salon.engine) as s:
        for n, staff in ((1, "佐藤"), (2, "田中")):
            cmd = bookings.Book(
                source="stores",
                external_id=f"R{n}",
                start=THU,
                end=THU + timedelta(hours=1),
                staff=staff,
                menu="整体",
                customer=Person(name=f"客{n}", phone=f"0901111{n:04d}"),
            )
            bookings.book(s, salon.ledger, cmd, DESK_ACTOR, NOW)
    a = customer(salon, 1)
    assert join(salon, a).status == Status.CREATED
    with db.transaction(salon.engine) as s:
        cmd = bookings.Cancel(source="stores", external_id="R1")
        assert bookings.cancel(s, salon.ledger, cmd, DESK_ACTOR, NOW).status == Status.CANCELLED
    assert (entry(salon, a).state, held(salon, a).staff) == ("offered", "佐藤")
    with Session(salon.engine) as s:
        assert s.exec(select(Token).where(Token.purpose == "claim")).first() is not None


def test_staff_see_a_days_waitlist_with_states_and_offered_until(salon: Context) -> None:
    from tests.e2e.helpers import cli

    waiting_then_cancelled(salon)
    assert salon.cfg.source is not None
    rows = cli(salon.cfg.source, "waitlist", "--date", f"{THU:%Y-%m-%d}")
    shown = [(r["start_local"], r["customer"], r["state"], r["offered_until_local"]) for r in rows]
    until = (NOW + OFFER).strftime("%Y-%m-%d %H:%M")
    assert shown == [
        ("2026-12-03 13:00", "待1", "offered", until),
        ("2026-12-03 13:00", "待2", "waiting", None),
    ]
    assert cli(salon.cfg.source, "waitlist", "--date", "2026-12-04") == []


def test_waiting_by_mail_needs_the_answer_that_said_the_time_was_taken(salon: Context) -> None:
    from mailgate.ledger import mail_waitlist

    a = customer(salon, 1)
    with db.transaction(salon.engine) as s:
        untied = mail_waitlist.wait(s, salon.ledger, a, None, WEB, NOW)
    assert untied.status == Status.CREATED and "free times mailed" in untied.reason
    with Session(salon.engine) as s:
        assert s.exec(select(WaitEntry)).all() == []
        [answer] = s.exec(select(Outbox).where(Outbox.customer_id == a)).all()
    assert answer.template == "book_list" and "「ちょうど埋まりました」とお知らせしたメール" in answer.body


def test_a_hold_expired_on_the_way_by_another_booking_reaches_the_waitlist_with_the_next_job(
    salon: Context,
) -> None:
    assert book(salon, THU, n=1).status == Status.CREATED
    hold = book(salon, THU, n=2, client="192.0.2.1")  # a guest's 仮予約, held for tentative_minutes
    assert hold.state == "tentative"
    a = customer(salon, 1)
    join(salon, a)
    later = NOW + timedelta(minutes=31)
    assert book(salon, THU + timedelta(hours=3), n=3, now=later).status == Status.CREATED
    assert (row_state(salon, hold.booking_id), entry(salon, a).state) == ("expired", "waiting")
    assert jobs.expire_tentative(salon, later + timedelta(minutes=1)) == []  # nothing left to expire
    assert (entry(salon, a).state, held(salon, a).status) == ("offered", "tentative")


def row_state(ctx: Context, booking_id: int | None) -> str:
    with Session(ctx.engine) as s:
        found = s.get(Booking, booking_id)
        assert found is not None
        return found.status


def test_a_wait_for_a_time_that_passed_ends_with_the_next_job(salon: Context) -> None:
    a = waiting(salon)[1]
    assert jobs.expire_tentative(salon, THU + timedelta(minutes=1)) == []
    assert entry(salon, a).state == "expired" and offers_mailed(salon, a) == []
