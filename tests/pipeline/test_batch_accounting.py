"""What a batch reads once and keeps for its transaction stays right while its messages change it:
the reply and new-customer limits hold when several messages of one batch reach them (also when one
of them is rolled back, and with two workers at once), two notices for one seat in one batch give a
conflict, a calendar change in a transaction counts for what that transaction reads next, and the
audit events a batch gathers are written with it, less those of what rolled back.
SQLite and PostgreSQL, except where a test says why not."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from mailgate import audit, config, db, leases
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Booking, Conflict, Customer, Event, Message, Outbox
from mailgate.pipeline import batch, claim, dispatch
from mailgate.pipeline.worker import decide
from mailgate.shop import shift_store
from mailgate.shop_tables import SeatClaim
from tests.conftest import CORPUS, write_config
from tests.e2e.cluster import SHOP  # 佐藤 and 田中, open every day 10:00-20:00
from tests.notices import jp_when, stores_booked, stores_changed
from tests.pipeline.test_batches import BAD, register_then
from tests.test_pipeline import get

DNS = f"""[authn]
dns_overrides = "{CORPUS / "keys" / "dns.json"}"
trusted_forwarders = ["uketsuke@salon-mail.example"]
"""


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Callable[..., Context]:
    """A shop (two staff, the vendor's DKIM keys) with these [mail] limits."""

    def made(**limits: int) -> Context:
        mail = "\n".join(f"{k} = {v}" for k, v in limits.items())
        return Context.build(
            config.load(write_config(tmp_path / "shop", DNS, db_url=db_url, shop=SHOP, mail=mail))
        )

    return made


def blank(ctx: Context, sender: str, client: str = "203.0.113.9") -> int:
    raw = f"From: {sender}\r\nTo: signup@shop.example\r\nMessage-ID: <{sender}>\r\n\r\n".encode()
    [mid] = store(
        ctx.engine, ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="smtp", client=client
    ).ids
    return mid


def notice(ctx: Context, number: str, start: datetime, phone: str) -> int:
    return stored(
        ctx, stores_booked(number, jp_when(start), staff="佐藤", email=f"n{number}@example.jp", phone=phone)
    )


def stored(ctx: Context, raw: bytes) -> int:
    [mid] = store(
        ctx.engine,
        ctx.cfg.spool_dir,
        raw,
        ["notices@shop.example"],
        mail_from=None,
        via="smtp",
        client="192.0.2.1",
    ).ids
    return mid


def one_batch(ctx: Context, owner: str | None = None) -> batch.Batch:
    """Everything stored, claimed and recorded in one transaction."""
    owner = owner or leases.owner_name("worker")
    taken = claim.take_next(ctx.engine, owner, limit=100)
    result = batch.record(ctx, owner, {mid: decide(ctx, mid) for mid in sorted(taken)}, seconds=3600)
    assert result.left == [] and result.alone == []
    return result


def reasons(ctx: Context, ids: list[int]) -> list[str]:
    by_id = {m.id: m for m in get(ctx, Message)}
    return [f"{by_id[i].state}: {by_id[i].reason}" for i in ids]


def test_the_reply_limits_hold_for_the_messages_of_one_batch(shop: Callable[..., Context]) -> None:
    ctx = shop(replies_per_client_hour=3, replies_total_hour=5, replies_per_hour=1)
    ids = [blank(ctx, f"a{n}@example.jp") for n in range(4)]  # one client: 3 of these answered
    ids += [blank(ctx, f"b{n}@example.jp", client=f"198.51.100.{n}") for n in range(3)]  # 2 of these
    ids += [
        blank(ctx, "c+1@example.jp", client="192.0.2.9"),
        blank(ctx, "c+2@example.jp", client="192.0.2.9"),
    ]
    one_batch(ctx)
    assert sorted(o.to_addr for o in get(ctx, Outbox)) == [
        "a0@example.jp",
        "a1@example.jp",
        "a2@example.jp",
        "b0@example.jp",
        "b1@example.jp",
    ]
    held = reasons(ctx, [ids[3], ids[6], ids[7], ids[8]])
    assert held == [
        "held: reply suppressed: more than 3 automatic replies to mail from client 203.0.113.9 in an hour",
        "held: reply suppressed: more than 5 automatic replies in an hour",
        "held: reply suppressed: more than 5 automatic replies in an hour",
        "held: reply suppressed: more than 5 automatic replies in an hour",
    ]


def test_the_address_limit_holds_for_two_spellings_in_one_batch(shop: Callable[..., Context]) -> None:
    ctx = shop(replies_per_hour=1)
    first, second = blank(ctx, "victim+a@x.example"), blank(ctx, "Victim+b@X.example")
    one_batch(ctx)
    assert [o.to_addr for o in get(ctx, Outbox)] == ["victim+a@x.example"]
    assert reasons(ctx, [second]) == [
        "held: reply suppressed: more than 1 mails to this address (victim@x.example) in an hour"
    ]
    assert reasons(ctx, [first])[0].startswith("applied")


def test_a_batch_counts_its_senders_earlier_replies_and_its_own(shop: Callable[..., Context]) -> None:
    """The per-mailbox counts of a batch's senders are read together at its start (SQLite): what
    earlier batches queued to an address counts, and so does what this batch queues to it."""
    ctx = shop(replies_per_hour=2)
    blank(ctx, "x@example.jp")
    one_batch(ctx)
    later = [blank(ctx, sender) for sender in ("X+2@example.jp", "y@example.jp", "x+3@example.jp")]
    one_batch(ctx)
    assert sorted(o.to_addr for o in get(ctx, Outbox)) == ["X+2@example.jp", "x@example.jp", "y@example.jp"]
    assert reasons(ctx, [later[2]]) == [
        "held: reply suppressed: more than 2 mails to this address (x@example.jp) in an hour"
    ]


def test_a_signup_finds_the_customer_an_earlier_message_of_its_batch_made(
    shop: Callable[..., Context],
) -> None:
    """Each message looks its sender up once (wrote_in, then the signup): never a lookup kept from
    an earlier message of the batch."""
    ctx = shop()
    at = datetime.fromisoformat("2027-01-05T13:00+09:00")
    ids = [
        notice(ctx, "RB7", at, "090-1111-0007"),  # its customer: nRB7@example.jp
        blank(ctx, "nRB7@example.jp"),
        blank(ctx, "same@example.jp"),
        blank(ctx, "Same@example.jp"),
    ]
    one_batch(ctx)
    assert sorted(c.email_key for c in get(ctx, Customer)) == ["nrb7@example.jp", "same@example.jp"]
    assert [r.split(":")[0] for r in reasons(ctx, ids)] == ["applied"] * 4
    assert [o.to_addr for o in get(ctx, Outbox)] == ["nRB7@example.jp", "same@example.jp"]


def test_the_new_customer_limits_hold_for_the_messages_of_one_batch(shop: Callable[..., Context]) -> None:
    ctx = shop(new_customers_per_client_hour=2, new_customers_total_hour=3)
    ids = [blank(ctx, f"a{n}@example.jp") for n in range(3)] + [
        blank(ctx, f"b{n}@example.jp", client=f"198.51.100.{n}") for n in range(2)
    ]
    one_batch(ctx)
    assert sorted(c.email for c in get(ctx, Customer)) == ["a0@example.jp", "a1@example.jp", "b0@example.jp"]
    assert reasons(ctx, [ids[2], ids[4]]) == [
        "held: reply suppressed: more than 2 new customers from client 203.0.113.9 in an hour",
        "held: reply suppressed: more than 3 new customers in an hour",
    ]


def test_a_reply_rolled_back_with_its_message_does_not_count(
    shop: Callable[..., Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    """BAD's reply was queued (and counted) before its message raised: the next one gets its place."""
    monkeypatch.setitem(dispatch.HANDLERS, "register", register_then(ValueError("broken mail")))
    ctx = shop(replies_per_client_hour=2, new_customers_per_client_hour=2)
    ids = [blank(ctx, addr) for addr in ("a@example.jp", BAD, "b@example.jp", "c@example.jp")]
    result = one_batch(ctx)
    assert list(result.failed) == [ids[1]]
    assert sorted(o.to_addr for o in get(ctx, Outbox)) == ["a@example.jp", "b@example.jp"]
    assert reasons(ctx, [ids[3]])[0].startswith("held: reply suppressed: more than 2")


def test_two_workers_recording_at_once_keep_the_reply_limit(tmp_path: Path) -> None:
    """SQLite: each batch's transaction holds the only write lock from its start, so the counts one
    keeps include everything the other committed. (On PostgreSQL each reply is counted afresh, as
    before batches: two nodes recording at the same moment can each miss the other's last reply.)"""
    ctx = Context.build(config.load(write_config(tmp_path / "shop", mail="replies_per_client_hour = 5")))
    ids = [blank(ctx, f"w{n}@example.jp") for n in range(12)]
    owners = [leases.owner_name(f"worker{n}") for n in range(2)]
    intents: list[dict[int, object]] = []
    for n, owner in enumerate(owners):
        mine = ids[n::2]
        assert all(claim.take_one(ctx.engine, mid, owner) for mid in mine)
        intents.append({mid: decide(ctx, mid) for mid in mine})
    start = threading.Barrier(2)

    def run(n: int) -> None:
        start.wait()
        left = intents[n]
        while left:  # each batch gives way to the other when it waits, leaving the rest for the next
            result = batch.record(ctx, owners[n], left, seconds=3600)  # type: ignore[arg-type]
            left = {mid: left[mid] for mid in result.left}

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(get(ctx, Outbox)) == 5
    assert sorted(m.state for m in get(ctx, Message)) == ["applied"] * 5 + ["held"] * 7


def test_two_notices_for_one_seat_in_one_batch_give_a_conflict(shop: Callable[..., Context]) -> None:
    ctx = shop()
    at = datetime.fromisoformat("2027-01-05T13:00+09:00")
    first = notice(ctx, "RB1", at, "090-1111-0001")
    second = notice(ctx, "RB2", at + timedelta(minutes=30), "090-1111-0002")  # half of it taken
    one_batch(ctx)
    assert [r.split(":")[0] for r in reasons(ctx, [first, second])] == ["applied", "applied"]
    bookings = {b.external_id: b for b in get(ctx, Booking)}
    assert set(bookings) == {"RB1", "RB2"}
    [conflict] = get(ctx, Conflict)
    assert conflict.booking_id == bookings["RB2"].id
    # The reason names the other booking and its customer (read only once a clash is found).
    assert conflict.reasons == ["佐藤さんは 1/5(火) 13:00〜14:00 に別の予約があります（STORES RB1 山田太郎）"]
    # The second holds none of its time, not even the half that was free (all or nothing).
    held = [c.booking_id for c in get(ctx, SeatClaim)]
    assert held == [bookings["RB1"].id] * 12


def test_a_calendar_change_counts_for_what_the_same_transaction_reads_next(
    shop: Callable[..., Context],
) -> None:
    ctx, day = shop(), date(2027, 1, 5)
    with db.transaction(ctx.engine) as s:
        cal = ctx.ledger.calendar  # read, and kept for the transaction
        assert ctx.ledger.calendar is cal and (cal.staff[0], day) not in cal.shifts
        shift_store.set_shift(s, cal, cal.staff[0], day, None)
        assert ctx.ledger.calendar.shifts[(cal.staff[0], day)] is None  # read again
    assert ctx.ledger.calendar.shifts[(cal.staff[0], day)] is None


def kinds_by_message(ctx: Context) -> dict[int | None, list[str]]:
    by: dict[int | None, list[str]] = {}
    for e in sorted(get(ctx, Event), key=lambda e: e.id or 0):
        by.setdefault(e.message_id, []).append(e.kind)
    return by


def test_a_batch_writes_its_messages_events_in_order_and_none_of_a_rolled_back_one(
    shop: Callable[..., Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(dispatch.HANDLERS, "register", register_then(ValueError("broken mail")))
    ctx = shop()
    ids = [blank(ctx, addr) for addr in ("a@example.jp", BAD, "b@example.jp")]
    ids.append(notice(ctx, "RB9", datetime.fromisoformat("2027-01-05T13:00+09:00"), "090-1111-0009"))
    assert list(one_batch(ctx).failed) == [ids[1]]
    signup = ["customer_pending", "link_issued", "mail_queued", "message_applied"]
    events = kinds_by_message(ctx)
    assert events[ids[0]] == signup and events[ids[2]] == signup
    assert events[ids[3]][-1] == "message_applied" and "booking_created" in events[ids[3]]
    assert ids[1] not in events  # its registration's events went with its savepoint
    [customer] = [c for c in get(ctx, Customer) if c.email == "a@example.jp"]
    assert customer.id is not None
    assert [e.kind for e in get(ctx, Event, customer_id=customer.id)] == signup[:3]


def test_gathered_events_follow_their_savepoints_and_are_read_in_their_transaction(
    shop: Callable[..., Context],
) -> None:
    ctx = shop()
    with db.transaction(ctx.engine) as s:
        audit.gather(s)
        audit.record(s, "kept_before", "system")
        with s.begin_nested():
            audit.record(s, "kept_released", "system")
        with pytest.raises(ValueError), s.begin_nested():
            audit.record(s, "dropped", "system")
            with s.begin_nested():
                audit.record(s, "dropped_inner", "system")
            raise ValueError("rolled back")
        assert [e.kind for e in audit.timeline(s, actor="system")] == ["kept_before", "kept_released"]
        audit.record(s, "kept_after", "system")
    with pytest.raises(ValueError), db.transaction(ctx.engine) as s:
        audit.gather(s)
        audit.record(s, "dropped_with_its_transaction", "system")
        raise ValueError("rolled back")
    assert [e.kind for e in sorted(get(ctx, Event), key=lambda e: e.id or 0)] == [
        "kept_before",
        "kept_released",
        "kept_after",
    ]


@pytest.mark.parametrize("together", [True, False], ids=["one batch", "two batches"])
def test_a_notice_in_two_wrappers_is_applied_once_in_one_batch_or_two(
    shop: Callable[..., Context], together: bool
) -> None:
    ctx = shop()
    first = stored(ctx, (CORPUS / "stores" / "booked-01.eml").read_bytes())
    if not together:
        one_batch(ctx)
    second = stored(ctx, (CORPUS / "forwarded" / "stores-booked-attached.eml").read_bytes())
    one_batch(ctx)
    assert reasons(ctx, [first, second]) == [
        "applied: STORES 87246923 booked as 1",
        f"applied: STORES 87246923 already applied by message {first} (the same notice): nothing changed",
    ]
    assert len(get(ctx, Booking)) == 1


@pytest.mark.parametrize("together", [True, False], ids=["one batch", "two batches"])
def test_a_change_waiting_for_its_booking_is_released_by_it_in_one_batch_or_two(
    shop: Callable[..., Context], together: bool
) -> None:
    ctx = shop()
    at, before = (
        datetime.fromisoformat("2027-01-05T13:00+09:00"),
        datetime.fromisoformat("2027-01-05T11:00+09:00"),
    )
    change = stored(ctx, stores_changed("RB5", jp_when(at), jp_when(before)))
    if not together:
        one_batch(ctx)
        assert reasons(ctx, [change])[0].startswith("deferred: ")
    booking = notice(ctx, "RB5", before, "090-1111-0005")
    one_batch(ctx)
    assert reasons(ctx, [change, booking]) == [
        "received: stores:RB5 arrived: to be applied again",
        "applied: STORES RB5 booked as 1",
    ]
