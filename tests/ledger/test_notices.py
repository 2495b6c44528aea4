"""Vendor notices applied to the ledger, on SQLite and PostgreSQL: once, idempotently, with conflicts
flagged and staff alerted, changes and cancels that come early deferred, forgeries held."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.jobs import evening_digest, expire_deferred
from mailgate.models import Booking, Conflict, Customer, Inquiry, Message, Outbox, utcnow
from mailgate.pipeline.reconcile import day_notices
from mailgate.pipeline.replay import replay
from mailgate.pipeline.worker import process_pending
from tests import notices
from tests.conftest import CORPUS


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


def deliver(ctx: Context, raw: bytes, via: str = "smtp") -> list[int]:
    stored = store(ctx.engine, ctx.cfg.spool_dir, raw, ["notices@shop.example"], mail_from=None, via=via)
    process_pending(ctx)
    return stored.ids


def rows(ctx: Context, model, **where):  # type: ignore[no-untyped-def]
    with Session(ctx.engine) as s:
        stmt = select(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return list(s.exec(stmt))


def message(ctx: Context, mid: int) -> Message:
    with Session(ctx.engine) as s:
        m = s.get(Message, mid)
        assert m is not None
        return m


def test_a_notice_books_once_however_it_arrives(shop: Context) -> None:
    [first] = deliver(shop, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    for name in ("stores-booked-attached", "stores-booked-inline"):
        deliver(shop, (CORPUS / "forwarded" / f"{name}.eml").read_bytes())
    # The redirect has the same Message-ID and body as the original: stored as a duplicate, not again.
    assert deliver(shop, (CORPUS / "forwarded" / "stores-booked-redirect.eml").read_bytes()) == []
    [booking] = rows(shop, Booking)
    assert (booking.source, booking.external_id, booking.staff) == ("stores", "87246923", "佐藤")
    assert booking.start.isoformat() == "2026-12-03T04:00:00+00:00"
    [customer] = rows(shop, Customer)
    assert (customer.name, customer.name_kana, customer.phone) == ("山田太郎", "ヤマダタロウ", "09012345678")
    assert customer.email == "yamada.taro@example.jp" and customer.status == "ledger"
    assert message(shop, first).reason == "STORES 87246923 booked as 1"
    states = [(m.state, m.reason) for m in rows(shop, Message)]
    assert [s for s, _ in states] == ["applied"] * 3
    # The attached copy is the same notice (applied once); the pasted text is the same booking.
    assert (
        states[1][1]
        == f"STORES 87246923 already applied by message {first} (the same notice): nothing changed"
    )
    assert "already is in the ledger" in states[2][1]
    # Replaying everything changes nothing either.
    again = replay(shop, [m.id for m in rows(shop, Message)], dry_run=False, operator="test")
    assert {r.now["tag"] for r in again} == {"already"}
    assert len(rows(shop, Booking)) == 1


def test_a_forged_or_tampered_notice_is_held_and_the_ledger_untouched(shop: Context) -> None:
    ids = [
        deliver(shop, (CORPUS / "spoofed" / f"{n}.eml").read_bytes())[0]
        for n in ("stores-booked-unsigned", "stores-cancel-tampered")
    ]
    assert [message(shop, i).state for i in ids] == ["held", "held"]
    assert "no DKIM signature" in message(shop, ids[0]).reason
    assert "did not verify" in message(shop, ids[1]).reason
    # Signed, but by someone else's domain.
    [other] = deliver(shop, notices.stores_booked("555", signer=("othermail.example", "o1")))
    assert message(shop, other).state == "held"
    assert rows(shop, Booking) == [] and rows(shop, Customer) == []


def test_cancel_frees_the_slot_and_a_second_cancel_changes_nothing(shop: Context) -> None:
    deliver(shop, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    [cancel] = deliver(shop, (CORPUS / "stores" / "cancelled-01.eml").read_bytes())
    assert message(shop, cancel).state == "applied"
    [booking] = rows(shop, Booking)
    assert booking.status == "cancelled"
    [r] = replay(shop, [cancel], dry_run=False, operator="test")
    assert r.now["tag"] == "already"
    # The freed slot can be booked by someone else without a conflict.
    deliver(
        shop,
        notices.stores_booked(
            "900", name="鈴木 花子", kana="スズキ ハナコ", email="h@example.jp", phone="080-1111-2222"
        ),
    )
    assert rows(shop, Conflict) == []


def test_a_cancel_before_its_booking_waits_and_is_applied_when_the_booking_arrives(shop: Context) -> None:
    [cancel] = deliver(shop, notices.stores_cancelled("777"))
    m = message(shop, cancel)
    assert (m.state, m.waiting_for) == ("deferred", "stores:777")
    deliver(shop, notices.stores_booked("777"))
    assert message(shop, cancel).state == "applied"
    [booking] = rows(shop, Booking)
    assert booking.status == "cancelled"


def test_a_change_moves_the_booking_and_checks_the_new_slot(shop: Context) -> None:
    deliver(shop, notices.stores_booked("301", "2026年12月03日 (木) 13:00 ~ 14:00"))
    [change] = deliver(
        shop,
        notices.stores_changed(
            "301", "2026年12月04日 (金) 15:00 ~ 16:00", "2026年12月03日 (木) 13:00 ~ 14:00"
        ),
    )
    assert message(shop, change).state == "applied", message(shop, change).reason
    [booking] = rows(shop, Booking)
    assert booking.start.isoformat() == "2026-12-04T06:00:00+00:00"
    [r] = replay(shop, [change], dry_run=True, operator="test")
    assert r.now["tag"] == "already"


def test_a_deferred_notice_whose_booking_never_comes_is_held(shop: Context) -> None:
    [change] = deliver(
        shop,
        notices.stores_changed(
            "404", "2026年12月04日 (金) 15:00 ~ 16:00", "2026年12月03日 (木) 13:00 ~ 14:00"
        ),
    )
    assert message(shop, change).state == "deferred"
    assert expire_deferred(shop, utcnow() + timedelta(hours=1)) == []
    assert expire_deferred(shop, utcnow() + timedelta(hours=73)) == [change]
    m = message(shop, change)
    assert m.state == "held" and "never arrived" in m.reason


def test_a_double_booking_is_recorded_flagged_and_staff_are_alerted(shop: Context) -> None:
    deliver(shop, notices.stores_booked("501", "2026年12月03日 (木) 13:00 ~ 14:00", staff="佐藤"))
    [second] = deliver(
        shop,
        notices.stores_booked(
            "502",
            "2026年12月03日 (木) 13:30 ~ 14:30",
            staff="さとう",
            name="鈴木 花子",
            kana="スズキ ハナコ",
            email="h@example.jp",
            phone="080-1111-2222",
        ),
    )
    assert message(shop, second).state == "applied"
    assert "conflict" in message(shop, second).reason
    assert len(rows(shop, Booking)) == 2  # the customer did book with the vendor: recorded anyway
    [conflict] = rows(shop, Conflict)
    assert any("佐藤" in r and "別の予約" in r for r in conflict.reasons), conflict.reasons
    [alert] = rows(shop, Outbox, template="staff_alerts")
    assert alert.to_addr == "staff@shop.example"
    assert "STORES 502" in alert.subject and "mailgate conflicts resolve" in alert.body
    # Another staff member at the same time is no conflict; nor is a booking touching the end.
    deliver(
        shop,
        notices.stores_booked(
            "503",
            "2026年12月03日 (木) 13:00 ~ 14:00",
            staff="田中",
            name="井戸 貴之",
            kana="イド タカユキ",
            email="i@example.jp",
            phone="080-3333-4444",
        ),
    )
    deliver(
        shop,
        notices.stores_booked(
            "504",
            "2026年12月03日 (木) 14:30 ~ 15:30",
            staff="佐藤",
            name="井戸 貴之",
            kana="イド タカユキ",
            email="i@example.jp",
            phone="080-3333-4444",
        ),
    )
    assert len(rows(shop, Conflict)) == 1
    # The operator's view and action, on this database too.
    from mailgate.ledger.conflict_records import open_conflicts, resolve
    from mailgate.ledger.listing import bookings_on

    with Session(shop.engine) as s:
        [(open_one, booking)] = open_conflicts(s)
        assert booking.external_id == "502"
        day = [b for b in bookings_on(s, shop.cfg.tz, booking.start.astimezone(shop.cfg.tz).date())]
        assert [b["external_id"] for b in day if b["open_conflicts"]] == ["502"]
        resolve(s, open_one.id or 0, "sato", "田中さんに変更済み", utcnow())
        s.commit()
    with Session(shop.engine) as s:
        assert open_conflicts(s) == []


def test_a_booking_on_the_closed_day_is_flagged(shop: Context) -> None:
    [mid] = deliver(shop, notices.stores_booked("601", "2026年12月08日 (火) 13:00 ~ 14:00"))
    [conflict] = rows(shop, Conflict)
    assert message(shop, mid).state == "applied" and conflict.reasons


def test_a_booking_staff_typed_in_is_linked_not_duplicated(shop: Context) -> None:
    with Session(shop.engine) as s:
        c = Customer(name="山田太郎", name_kana="ヤマダタロウ", phone="09012345678", status="ledger")
        s.add(c)
        s.flush()
        s.add(
            Booking(
                source="phone",
                customer_id=c.id,
                start=utc("2026-12-03T13:00:00+09:00"),
                end=utc("2026-12-03T14:00:00+09:00"),
                staff="佐藤",
            )
        )
        s.commit()
    [mid] = deliver(shop, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    [booking] = rows(shop, Booking)
    assert (booking.source, booking.external_id) == ("stores", "87246923")
    assert "linked" in message(shop, mid).reason
    assert rows(shop, Conflict) == []


def test_a_new_address_goes_to_the_memo_not_over_email_1(shop: Context) -> None:
    with Session(shop.engine) as s:
        s.add(
            Customer(
                name="山田太郎",
                phone="09012345678",
                email="taro@docomo.ne.jp",
                email_key="taro@docomo.ne.jp",
                status="active",
            )
        )
        s.commit()
    deliver(shop, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    [customer] = rows(shop, Customer)
    assert customer.email == "taro@docomo.ne.jp"
    assert "yamada.taro@example.jp" in customer.memo
    assert customer.name_kana == "ヤマダタロウ"  # blanks are filled in


def test_an_inquiry_is_recorded_once_and_listed_in_the_evening_digest(shop: Context) -> None:
    [mid] = deliver(shop, (CORPUS / "stores" / "inquiry-01.eml").read_bytes())
    [inquiry] = rows(shop, Inquiry)
    assert (inquiry.kind, inquiry.status, inquiry.email) == (
        "booking_request",
        "open",
        "ichiro.n@example.com",
    )
    assert "12月5日" in inquiry.body
    replay(shop, [mid], dry_run=False, operator="test")
    assert len(rows(shop, Inquiry)) == 1
    with Session(shop.engine) as s:
        m = s.get(Message, mid)
        assert m is not None
        # Late that same evening in the shop (never past its midnight, whenever the test runs).
        day = m.received_at.astimezone(shop.cfg.tz).date()
        evening = datetime.combine(day, time(23, 59), shop.cfg.tz)
    assert evening_digest(shop, evening) == 1
    assert evening_digest(shop, evening) == 0  # once a day
    from mailgate.ledger.inquiries import listing, update

    with Session(shop.engine) as s:
        update(s, inquiry.id or 0, operator="sato", now=utcnow(), status="waiting", assignee="田中")
        s.commit()
        assert [q.assignee for q in listing(s, status="waiting")] == ["田中"]
    [digest] = rows(shop, Outbox, template="inquiry_digest")
    assert "中村一郎" in digest.body and "予約希望" in digest.body


def test_reconcile_lists_every_notice_of_the_day_with_its_outcome(shop: Context) -> None:
    deliver(shop, notices.stores_booked("701"))
    deliver(
        shop,
        notices.stores_booked(
            "702",
            "2026年12月03日 (木) 13:30 ~ 14:30",
            name="鈴木 花子",
            kana="スズキ ハナコ",
            email="h@example.jp",
            phone="080-1111-2222",
        ),
    )
    deliver(shop, notices.stores_cancelled("703"))
    deliver(shop, (CORPUS / "spoofed" / "stores-booked-unsigned.eml").read_bytes())
    deliver(shop, (CORPUS / "phone" / "blank-docomo.eml").read_bytes())  # not a notice: not listed
    with Session(shop.engine) as s:
        lines = day_notices(s, shop, utcnow().astimezone(shop.cfg.tz).date())
    assert [(x.external_id, x.verdict) for x in lines] == [
        ("701", "applied"),
        ("702", "conflict"),
        ("703", "deferred"),
        ("", "held"),
    ]


def test_reconcile_by_appointment_day_lists_the_notices_about_that_days_appointments(shop: Context) -> None:
    other = {"name": "鈴木 花子", "kana": "スズキ ハナコ", "email": "h@example.jp", "phone": "080-1111-2222"}
    deliver(shop, notices.stores_booked("711"))  # 12/03 13:00
    deliver(shop, notices.stores_booked("712", "2026年12月05日 (土) 10:00 ~ 11:00", **other))
    deliver(
        shop,
        notices.stores_changed(
            "711", "2026年12月05日 (土) 15:00 ~ 16:00", "2026年12月03日 (木) 13:00 ~ 14:00"
        ),
    )
    # Just after midnight in the shop is still the previous day in UTC: the shop's day counts.
    deliver(shop, notices.stores_booked("713", "2026年12月04日 (金) 00:30 ~ 01:30", **other))
    with Session(shop.engine) as s:
        listed = {d: day_notices(s, shop, date(2026, 12, d), "appointment") for d in (2, 3, 4, 5)}
    assert [(x.external_id, x.action) for x in listed[3]] == [("711", "book"), ("711", "change")]
    assert [(x.external_id, x.action) for x in listed[5]] == [("712", "book"), ("711", "change")]
    assert [x.external_id for x in listed[4]] == ["713"]
    assert listed[2] == []


def test_a_dry_run_replay_changes_nothing(shop: Context) -> None:
    [held] = deliver(shop, notices.stores_booked("801", staff="佐藤", signer=None))
    assert message(shop, held).state == "held"
    [r] = replay(shop, [held], dry_run=True, operator="test")
    assert r.now["state"] == "held" and r.then["state"] == "held"
    assert rows(shop, Booking) == [] and message(shop, held).decision is not None


def test_a_change_without_a_number_finds_its_booking_by_the_previous_time(shop: Context) -> None:
    deliver(shop, notices.stores_booked("310", "2026年12月03日 (木) 13:00 ~ 14:00"))
    [change] = deliver(
        shop,
        notices.stores_changed("", "2026年12月04日 (金) 15:00 ~ 16:00", "2026年12月03日 (木) 13:00 ~ 14:00"),
    )
    assert message(shop, change).state == "applied", message(shop, change).reason
    [booking] = rows(shop, Booking)
    assert (booking.external_id, booking.start.isoformat()) == ("310", "2026-12-04T06:00:00+00:00")
    # Nothing to find and nothing to wait for: an operator must look.
    [orphan] = deliver(
        shop,
        notices.stores_changed("", "2026年12月05日 (土) 15:00 ~ 16:00", "2026年12月01日 (火) 13:00 ~ 14:00"),
    )
    assert message(shop, orphan).state == "held"
    assert "no reservation number to wait for" in message(shop, orphan).reason


def test_a_reservation_booked_by_another_node_meanwhile_is_not_booked_twice(pg_shop: Context) -> None:
    """Two nodes apply the same notice at once: the unique (source, number) decides, quietly."""
    shop = pg_shop
    from sqlalchemy import event

    raced = []

    def other_node_commits_first(session: Session, *args: object) -> None:
        if raced or not any(isinstance(o, Booking) for o in session.new):
            return
        raced.append(True)
        with Session(shop.engine) as other:
            other.add(
                Booking(
                    source="stores",
                    external_id="87246923",
                    start=utc("2026-12-03T13:00:00+09:00"),
                    end=utc("2026-12-03T14:00:00+09:00"),
                    staff="佐藤",
                )
            )
            other.commit()

    event.listen(Session, "before_flush", other_node_commits_first)
    try:
        [mid] = deliver(shop, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    finally:
        event.remove(Session, "before_flush", other_node_commits_first)
    assert raced
    m = message(shop, mid)
    assert (m.state, m.decision["outcome"]["tag"]) == ("applied", "already"), m.reason
    assert len(rows(shop, Booking)) == 1
