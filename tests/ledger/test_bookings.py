"""The ledger's booking commands called directly, as a page, the CLI or a reminder will call them:
typed inputs, typed results, idempotent, clash-checked. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from mailgate import db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import bookings
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Status
from mailgate.models import Booking, Conflict, Event, utcnow

CALLER = Person(name="鈴木花子", name_kana="スズキハナコ", phone="08011112222")
DESK = Actor.operator("sato")


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


def book(ctx: Context, cmd: bookings.Book) -> bookings.Result:
    with db.transaction(ctx.engine) as s:
        return bookings.book(s, ctx.ledger, cmd, DESK, utcnow())


def phone_booking(**changes: object) -> bookings.Book:
    base = {
        "source": "phone",
        "start": at("2026-12-03T10:00:00+09:00"),
        "staff": "さとう",  # an alias: the calendar names the staff member
        "menu": "整体 60分コース",
        "customer": CALLER,
        "idempotency_key": "desk-1",
    }
    return bookings.Book(**{**base, **changes})  # type: ignore[arg-type]


def test_a_booking_by_phone_is_created_with_the_menus_duration_and_the_staff_named(shop: Context) -> None:
    result = book(shop, phone_booking())
    assert result.status == Status.CREATED and result.conflicts == ()
    with Session(shop.engine) as s:
        [row] = s.exec(select(Booking)).all()
        assert (row.staff, row.end - row.start, row.source) == (
            "佐藤",
            at("2026-12-03T11:00:00+09:00") - row.start,
            "phone",
        )
        events = [e.kind for e in s.exec(select(Event).where(Event.actor == "operator:sato"))]
    assert events == ["customer_created", "booking_created"]


def test_the_same_idempotency_key_books_once(shop: Context) -> None:
    first = book(shop, phone_booking())
    again = book(shop, phone_booking())  # a double-submitted form, a retried call
    assert (first.status, again.status) == (Status.CREATED, Status.ALREADY)
    assert again.booking_id == first.booking_id


def test_a_clashing_booking_is_made_and_comes_back_as_a_conflict_with_its_reasons(shop: Context) -> None:
    book(shop, phone_booking())
    clash = book(
        shop, phone_booking(idempotency_key="desk-2", customer=Person(name="山田", phone="09000000000"))
    )
    assert clash.status == Status.CONFLICT and clash.conflicts and clash.booking_id is not None
    with Session(shop.engine) as s:
        [conflict] = s.exec(select(Conflict)).all()
    assert conflict.booking_id == clash.booking_id and list(conflict.reasons) == list(clash.conflicts)


def test_moving_or_cancelling_what_is_not_there_says_so_and_changes_nothing(shop: Context) -> None:
    with db.transaction(shop.engine) as s:
        moved = bookings.move(
            s, shop.ledger, bookings.Move("stores", "404", at("2026-12-03T12:00:00+09:00")), DESK, utcnow()
        )
        cancelled = bookings.cancel(s, shop.ledger, bookings.Cancel("stores", "404"), DESK, utcnow())
    assert (moved.status, cancelled.status) == (Status.NOT_FOUND, Status.NOT_FOUND)


def test_a_cancelled_booking_cannot_be_moved_and_cancelling_again_changes_nothing(shop: Context) -> None:
    made = book(shop, phone_booking(source="stores", external_id="77", idempotency_key=None))
    with db.transaction(shop.engine) as s:
        first = bookings.cancel(s, shop.ledger, bookings.Cancel("stores", "77"), DESK, utcnow())
        again = bookings.cancel(s, shop.ledger, bookings.Cancel("stores", "77"), DESK, utcnow())
        refused = bookings.move(
            s, shop.ledger, bookings.Move("stores", "77", at("2026-12-03T15:00:00+09:00")), DESK, utcnow()
        )
    assert (first.status, again.status, refused.status) == (Status.CANCELLED, Status.ALREADY, Status.REFUSED)
    assert first.booking_id == made.booking_id == refused.booking_id


def open_conflicts(ctx: Context) -> list[Conflict]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Conflict).where(Conflict.resolved_at == None)))  # noqa: E711


def stores(
    number: str, start: str = "10:00", name: str = "鈴木花子", phone: str = "08011112222"
) -> bookings.Book:
    """A STORES booking with 佐藤 on 2026-12-03."""
    return phone_booking(
        source="stores",
        external_id=number,
        idempotency_key=None,
        start=at(f"2026-12-03T{start}:00+09:00"),
        customer=Person(name=name, phone=phone),
    )


def a_clash(ctx: Context) -> tuple[int, int]:
    """STORES 1 at 10:00 with 佐藤, then STORES 2 at 10:30 with 佐藤: (first booking, the clashing one)."""
    first = book(ctx, stores("1"))
    second = book(ctx, stores("2", "10:30", "山田", "09000000000"))
    assert second.status == Status.CONFLICT and first.booking_id and second.booking_id
    assert [c.booking_id for c in open_conflicts(ctx)] == [second.booking_id]
    return first.booking_id, second.booking_id


def test_cancelling_the_booking_a_conflict_clashed_with_closes_the_conflict(shop: Context) -> None:
    first, second = a_clash(shop)
    with db.transaction(shop.engine) as s:
        bookings.cancel(s, shop.ledger, bookings.Cancel("stores", "1"), DESK, utcnow())
    assert open_conflicts(shop) == []
    with Session(shop.engine) as s:
        [conflict] = s.exec(select(Conflict)).all()
        assert conflict.resolved_by == "system"
        assert conflict.resolution == f"no clash left: booking {first} cancelled"
        events = s.exec(select(Event).where(Event.kind == "conflict_resolved")).all()
    assert [(e.detail["booking_id"], e.actor) for e in events] == [(second, "operator:sato")]


def test_moving_the_booking_a_conflict_clashed_with_away_closes_the_conflict(shop: Context) -> None:
    first, _ = a_clash(shop)
    with db.transaction(shop.engine) as s:
        bookings.move(
            s, shop.ledger, bookings.Move("stores", "1", at("2026-12-03T15:00:00+09:00")), DESK, utcnow()
        )
    assert open_conflicts(shop) == []
    with Session(shop.engine) as s:
        assert s.exec(select(Conflict.resolution)).all() == [f"no clash left: booking {first} moved"]


def test_a_conflict_stays_open_while_another_clash_remains(shop: Context) -> None:
    _, second = a_clash(shop)
    book(shop, stores("3", "11:00", "田村", "09022223333"))  # with 佐藤 over the second one's time
    with db.transaction(shop.engine) as s:
        bookings.cancel(s, shop.ledger, bookings.Cancel("stores", "1"), DESK, utcnow())
    assert second in [c.booking_id for c in open_conflicts(shop)]


def test_a_vendor_change_older_than_the_last_one_applied_is_refused(shop: Context) -> None:
    book(
        shop,
        phone_booking(
            source="stores", external_id="88", idempotency_key=None, as_of=at("2026-11-26T09:00:00+09:00")
        ),
    )

    def move(start: str, sent: str | None, previous: str | None = None) -> bookings.Result:
        cmd = bookings.Move(
            "stores",
            "88",
            at(start),
            as_of=at(sent) if sent else None,
            unordered=sent is None,
            previous_start=at(previous) if previous else None,
        )
        with db.transaction(shop.engine) as s:
            return bookings.move(s, shop.ledger, cmd, DESK, utcnow())

    assert move("2026-12-03T17:00:00+09:00", "2026-11-26T11:00:00+09:00").status == Status.MOVED
    older = move("2026-12-03T13:00:00+09:00", "2026-11-26T10:00:00+09:00")
    assert older.status == Status.REFUSED and "older than the last notice" in older.reason
    # Without a signed time: refused unless it continues from where the booking is now.
    undated = move("2026-12-03T13:00:00+09:00", None, previous="2026-12-03T10:00:00+09:00")
    assert undated.status == Status.REFUSED and "no signed date" in undated.reason
    assert (
        move("2026-12-03T15:00:00+09:00", None, previous="2026-12-03T17:00:00+09:00").status == Status.MOVED
    )
    with Session(shop.engine) as s:
        [row] = s.exec(select(Booking)).all()
    assert row.start == at("2026-12-03T15:00:00+09:00")
    assert row.notice_at == at("2026-11-26T11:00:00+09:00")


def test_vendor_numbers_read_for_a_batch_stay_in_step_with_what_it_books(shop: Context) -> None:
    """The worker reads a batch's vendor numbers once (SQLite); a second notice of a reservation
    the batch booked meanwhile is found, not booked twice; a savepoint rolled back forgets them."""
    ar1 = phone_booking(source="airreserve", external_id="AR-1", idempotency_key=None)
    assert book(shop, ar1).status == Status.CREATED
    ar2 = phone_booking(source="airreserve", external_id="AR-2", idempotency_key=None)
    ar2 = bookings.Book(**{**ar2.__dict__, "start": at("2026-12-04T10:00:00+09:00")})
    with db.transaction(shop.engine) as s:
        bookings.read_externals(s, [("airreserve", "AR-1"), ("airreserve", "AR-2"), ("stores", None)])
        first = bookings.by_external(s, "airreserve", "AR-1")
        assert first is not None and first.external_id == "AR-1"
        assert bookings.by_external(s, "airreserve", "AR-2") is None
        assert bookings.by_external(s, "stores", "AR-1") is None  # another vendor's number
        assert bookings.book(s, shop.ledger, ar2, DESK, utcnow()).status == Status.CREATED
        assert bookings.book(s, shop.ledger, ar2, DESK, utcnow()).status == Status.ALREADY
        with s.begin_nested() as savepoint:
            savepoint.rollback()
        booked = bookings.by_external(s, "airreserve", "AR-2")  # asked of the database again
        assert booked is not None and booked.external_id == "AR-2"
    with Session(shop.engine) as s:
        assert len(s.exec(select(Booking).where(Booking.external_id == "AR-2")).all()) == 1
