"""The hourly counts behind the reply and new-customer limits, brought forward from the last count
(SQLite), equal a count of all the hour's rows after any mix of replies, links (a customer given
two), transactions rolled back (their ids used again), rows leaving the hour and the clock going
back; a row deleted is counted until the next full count. PostgreSQL counts afresh each time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import signup
from mailgate.models import Customer, Message, Outbox, Token
from mailgate.outbound import caps, hour_tally

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
CLIENTS = ("192.0.2.1", "192.0.2.2")


def windows() -> dict[str, tuple[hour_tally.Window, dict[str, str | None]]]:
    """Each count the limits take: replies and new customers, per client and in all."""
    found: dict[str, tuple[hour_tally.Window, dict[str, str | None]]] = {}
    for c in (*CLIENTS, None):
        found[f"replies {c}"] = (caps._REPLIES[c is not None], {"client": c})
        found[f"links {c}"] = (signup._LINKS[c is not None], {"client": c})
    return found


def kept(s: Session, since: datetime) -> dict[str, int]:
    return {name: hour_tally.count(s, name, w, since, params) for name, (w, params) in windows().items()}


def fresh(s: Session, since: datetime) -> dict[str, int]:
    return {name: s.scalar(w.fresh, {**params, "since": since}) for name, (w, params) in windows().items()}


def setup(ctx: Context) -> tuple[list[int], list[int]]:
    """Two messages (one from each client) and five customers."""
    with Session(ctx.engine) as s:
        messages = [
            Message(
                dedupe_key=f"d{c}", rcpt="signup@shop.example", via="smtp", client=c, spool_path="x", size=1
            )
            for c in CLIENTS
        ]
        customers = [Customer(email=f"c{i}@example.jp", email_key=f"c{i}@example.jp") for i in range(5)]
        s.add_all([*messages, *customers])
        s.commit()
        return [m.id or 0 for m in messages], [c.id or 0 for c in customers]


def add_rows(
    s: Session, rng: random.Random, now: datetime, messages: list[int], customers: list[int]
) -> None:
    for _ in range(rng.randint(0, 3)):
        cause = rng.choice(messages)
        s.add(
            Outbox(
                created_at=now,
                to_addr="a@example.jp",
                to_key="a@example.jp",
                template="t",
                subject="",
                body="",
                header_message_id="<x@y>",
                cause_message_id=cause,
                capped=rng.random() < 0.8,
            )
        )
        s.add(Token(purpose="register", customer_id=rng.choice(customers), created_at=now, message_id=cause))


def counts(ctx: Context, since: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """(brought forward, counted afresh) for every window, in one transaction that commits."""
    with db.transaction(ctx.engine) as s:
        return kept(s, since), fresh(s, since)


def test_counts_brought_forward_equal_a_full_count_through_replies_links_rollbacks_and_time(
    db_ctx: Context,
) -> None:
    messages, customers = setup(db_ctx)
    rng = random.Random(7)
    now = T0
    for step in range(120):
        now += timedelta(minutes=rng.choice((0, 1, 5, 20, 45)))
        if step % 17 == 16:
            now -= timedelta(minutes=30)  # the clock went back
        with db.transaction(db_ctx.engine) as s:
            if rng.random() < 0.3:  # a message counted, then rolled back alone: its ids are free again
                nested = s.begin_nested()
                add_rows(s, rng, now, messages, customers)
                s.flush()
                kept(s, now - caps.HOUR)
                nested.rollback()
            add_rows(s, rng, now, messages, customers)
        if rng.random() < 0.2:  # rows made and rolled back: their ids are used again
            s = Session(db_ctx.engine)
            add_rows(s, rng, now, messages, customers)
            s.flush()
            assert kept(s, now - caps.HOUR) == fresh(s, now - caps.HOUR)
            s.rollback()
            s.close()
        brought, counted = counts(db_ctx, now - caps.HOUR)
        assert brought == counted, f"step {step}"
    assert sum(counted.values()) > 0


def test_a_deleted_row_counts_until_the_next_full_count(db_ctx: Context) -> None:
    messages, customers = setup(db_ctx)
    rng = random.Random(3)
    with db.transaction(db_ctx.engine) as s:
        for _ in range(5):
            add_rows(s, rng, T0, messages, customers)
    brought, counted = counts(db_ctx, T0 - caps.HOUR)
    assert brought == counted
    with db.transaction(db_ctx.engine) as s:  # an erased customer's reply
        first = s.exec(select(Outbox.id).where(col(Outbox.capped)).order_by(col(Outbox.id))).first()
        s.exec(delete(Outbox).where(col(Outbox.id) == first))  # type: ignore[call-overload]
    later = T0 + timedelta(minutes=5)
    brought, counted = counts(db_ctx, later - caps.HOUR)
    assert brought["replies None"] == counted["replies None"] + (0 if db.is_postgres(db_ctx.engine) else 1)
    after_refresh = later + hour_tally.REFRESH + timedelta(seconds=1)
    brought, counted = counts(db_ctx, after_refresh - caps.HOUR)
    assert brought == counted


def test_a_bound_read_without_a_count_is_never_below_the_count(db_ctx: Context) -> None:
    messages, customers = setup(db_ctx)
    rng = random.Random(11)
    now = T0
    counts(db_ctx, now - caps.HOUR)  # a kept count to start from
    bounded = 0
    for step in range(80):
        now += timedelta(minutes=rng.choice((0, 1, 5, 20)))
        with db.transaction(db_ctx.engine) as s:
            add_rows(s, rng, now, messages, customers)
            s.flush()
            since = now - caps.HOUR
            at_most = {name: hour_tally.at_most(s, name, w, since) for name, (w, _) in windows().items()}
            counted = fresh(s, since)
        if db.is_postgres(db_ctx.engine):  # other nodes write meanwhile: nothing kept to bound from
            assert set(at_most.values()) == {None}
            return
        for name, bound in at_most.items():
            if bound is not None:
                assert bound >= counted[name], f"step {step}: {name}"
                bounded += 1
        if step % 10 == 9:  # now and then a count moves the kept one forward
            counts(db_ctx, since)
    assert bounded > 40


def test_a_bound_stands_for_the_count_until_what_was_added_reaches_the_limit() -> None:
    reads: list[str] = []

    def read() -> int:
        reads.append("read")
        return 3

    counts = caps.Counts(T0)
    assert not counts.reached(("all", None), 5, read, lambda: 4)  # 4 < 5: no count read
    counts.added(("all", None))  # the bound is 5 now: the count is read
    assert not counts.reached(("all", None), 5, read, lambda: 5) and reads == ["read"]
    assert counts.values[("all", None)] == 3
    assert counts.reached(("all", None), 3, read, lambda: 1)  # an exact count is not bounded again
    assert reads == ["read"]
    assert counts.reached(("to", "a"), 2, lambda: 2, lambda: None)  # no bound: counted
