"""Whose booking is it: a shared phone (a home phone, a family phone) never merges two different
people; the match is flagged for an operator and `audit --customer` finds it from either side. A
second address registering the same name and phone is told to the operator, not refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mailgate import db, tokens
from mailgate.audit import Actor
from mailgate.cli import app
from mailgate.context import Context
from mailgate.customer_addresses import CustomerAddress
from mailgate.ledger import bookings, customers
from mailgate.ledger.matching import Person, created_here, find_or_create
from mailgate.ledger.results import Status
from mailgate.models import Booking, Customer, CustomerStatus, Event, Outbox

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
YAMADA = customers.Details(name="山田太郎", name_kana="ヤマダタロウ", phone="09012345678")


def registered(ctx: Context, email: str, details: customers.Details = YAMADA) -> int:
    with db.transaction(ctx.engine) as s:
        c = Customer(email=email, email_key=email.lower(), created_at=NOW)
        s.add(c)
        s.flush()
        assert c.id is not None
        token = tokens.issue(s, "register", c.id, NOW, hours=72)
        customers.register(s, ctx.ledger, token, details, "1234", NOW)
        return c.id


def airreserve(ctx: Context, person: Person, number: str = "AR-1") -> int | None:
    cmd = bookings.Book(
        source="airreserve",
        start=datetime(2026, 12, 3, 1, 0, tzinfo=UTC),
        staff="佐藤",
        menu="整体 60分コース",
        customer=person,
        external_id=number,
    )
    with db.transaction(ctx.engine) as s:
        result = bookings.book(s, ctx.ledger, cmd, Actor("message:1"), NOW)
    assert result.status in (Status.CREATED, Status.CONFLICT)
    with Session(ctx.engine) as s:
        return s.exec(select(Booking.customer_id).where(Booking.external_id == number)).one()


def events(ctx: Context, kind: str) -> list[Event]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Event).where(Event.kind == kind).order_by(col(Event.id))))


def audit_of(ctx: Context, who: str) -> list[tuple[str, int | None]]:
    """`mailgate audit --customer WHO`: (kind, customer id) of each event."""
    done = CliRunner().invoke(app, ["--config", str(ctx.cfg.source), "audit", "--customer", who, "--json"])
    assert done.exit_code == 0, done.output
    return [(e["kind"], e["customer_id"]) for e in json.loads(done.stdout)]


TANAKA = Person(name="田中太郎", name_kana="タナカタロウ", email="tanaka@example.jp", phone="09012345678")


def test_a_shared_phone_does_not_attach_another_persons_booking(shop: Context) -> None:
    yamada = registered(shop, "yamada@docomo.ne.jp")
    tanaka = airreserve(shop, TANAKA)
    assert tanaka is not None and tanaka != yamada
    with Session(shop.engine) as s:
        c = s.get(Customer, tanaka)
        assert c is not None
        assert (c.name, c.email, c.phone) == ("田中太郎", "tanaka@example.jp", "09012345678")
        assert s.get(Customer, yamada).name == "山田太郎"  # type: ignore[union-attr]
    # The next booking of the same person finds them again.
    assert airreserve(shop, TANAKA, "AR-2") == tanaka


def test_a_shared_phone_is_flagged_and_audit_finds_it_from_either_customer(shop: Context) -> None:
    yamada = registered(shop, "yamada@docomo.ne.jp")
    tanaka = airreserve(shop, TANAKA)
    flagged = events(shop, "phone_shared")
    assert {e.customer_id for e in flagged} == {yamada, tanaka}
    assert ("phone_shared", tanaka) in audit_of(shop, "tanaka@example.jp")
    assert ("phone_shared", yamada) in audit_of(shop, "yamada@docomo.ne.jp")
    both = audit_of(shop, "090-1234-5678")  # or by the phone both share
    assert {yamada, tanaka} <= {who for _, who in both}


def test_the_same_person_written_differently_still_matches_by_phone(shop: Context) -> None:
    yamada = registered(shop, "yamada@docomo.ne.jp")
    spaced = Person(name="山田 太郎", name_kana="ヤマダ タロウ", phone="09012345678")
    assert airreserve(shop, spaced) == yamada
    other_kanji = Person(name="山田太朗", name_kana="ヤマダタロウ", phone="09012345678")  # the reading agrees
    assert airreserve(shop, other_kanji, "AR-2") == yamada
    assert airreserve(shop, Person(phone="09012345678"), "AR-3") == yamada  # a notice with no name
    assert events(shop, "phone_shared") == []


def test_a_second_address_with_the_same_name_and_phone_is_told_to_the_operator(shop: Context) -> None:
    first = registered(shop, "yamada@docomo.ne.jp")
    second = registered(shop, "taro.yamada@example.jp")  # not refused: it may be a new phone
    with Session(shop.engine) as s:
        assert s.get(Customer, second).status == "active"  # type: ignore[union-attr]
        alerts = list(s.exec(select(Outbox).where(Outbox.template == "staff_duplicate")))
    assert {e.customer_id for e in events(shop, "possible_duplicate")} == {first, second}
    assert [a.to_addr for a in alerts] == ["staff@shop.example"]
    assert f"#{first}" in alerts[0].body and f"#{second}" in alerts[0].body
    assert "possible_duplicate" in [kind for kind, _ in audit_of(shop, "yamada@docomo.ne.jp")]


def test_the_three_ways_of_matching_are_tried_in_order(shop: Context) -> None:
    """Phone (the same person only), then the address's owner (not a gone one, an extra address
    too), then name and reading; a new customer otherwise, without an address another has."""

    def customer(email: str = "", status: str = CustomerStatus.LEDGER, **details: str) -> int:
        c = Customer(email=email, email_key=email.lower() or None, status=status, created_at=NOW, **details)
        s.add(c)
        s.flush()
        assert c.id is not None
        return c.id

    with db.transaction(shop.engine) as s:
        yamada = customer(name="山田太郎", phone="09011112222")
        owner = customer(email="b@example.jp", phone="09033334444")
        sato = customer(name="佐藤花子", name_kana="サトウハナコ")
        customer(
            email="gone@example.jp", status=CustomerStatus.DELETED, name="佐藤花子", name_kana="サトウハナコ"
        )
        extra = customer(email="e1@example.jp")
        s.add(CustomerAddress(customer_id=extra, email="e2@example.jp", email_key="e2@example.jp"))

    def found(**details: str) -> Customer:
        with db.transaction(shop.engine) as s:
            c = find_or_create(s, Person(**details), now=NOW, actor=Actor("system"), label="TEST 1")
            assert c is not None
            return c

    first = found(phone="09011112222", name="山田 太郎", email="b@example.jp")
    assert first.id == yamada and first.email == ""  # another's address is not given to yamada
    assert found(phone="09011112222", name="鈴木一郎", email="b@example.jp").id == owner
    assert found(email="gone@example.jp", name="佐藤花子", name_kana="サトウハナコ").id == sato
    assert found(email="E2@example.jp").id == extra
    new = found(email="gone@example.jp", name="田中", name_kana="タナカ")
    assert new.id not in (yamada, owner, sato, extra) and new.email == ""
    shared = found(phone="09011112222", name="鈴木一郎")
    assert shared.id not in (yamada, new.id)
    assert {e.customer_id for e in events(shop, "phone_shared")} == {yamada, shared.id}
    assert (
        found(name="佐藤花子", name_kana="サトウハナコ", email="hana@example.jp").email == "hana@example.jp"
    )
    assert found(email="b@example.jp", name="佐藤花子", name_kana="サトウハナコ").id == owner
    assert found(phone="09033334444", email="b@example.jp").memo == ""
    again = found(phone="09033334444", email="e1@example.jp")  # extra's address, on owner's phone
    assert again.id == owner and again.memo == "別のメールアドレス: e1@example.jp（TEST 1）"


def test_other_addresses_go_into_the_memo_until_it_is_full_then_only_into_the_audit(shop: Context) -> None:
    """Many notices under one name and reading, each with its own address: the memo stops growing
    (a row rewritten by every notice, a memo nobody can read); each address is still audited."""

    def found(n: int) -> Customer:
        with db.transaction(shop.engine) as s:
            person = Person(name="予約 太郎", name_kana="ヨヤク タロウ", email=f"walkin{n}@example.jp")
            c = find_or_create(s, person, now=NOW, actor=Actor("system"), label="STORES")
            assert c is not None
            return c

    customers_found = {found(n).id for n in range(200)}
    assert len(customers_found) == 1
    with Session(shop.engine) as s:
        memo = s.exec(select(Customer.memo).where(col(Customer.id).in_(customers_found))).one()
        kind = Event.kind == "customer_updated"
        details = [e.detail for e in s.exec(select(Event).where(kind).order_by(col(Event.id)))]
    assert memo.startswith("別のメールアドレス: walkin1@example.jp（STORES）")  # walkin0 is email 1
    assert 1500 < len(memo) < 2000 and "walkin199@" not in memo
    noted = [d.get("memo") or d.get("other_email") for d in details]
    assert len(noted) == 199 and "walkin199@example.jp" in noted[-1]


def test_a_customer_is_known_as_made_in_this_transaction_until_a_savepoint_rolls_back(shop: Context) -> None:
    """bookings.book skips the look for a booking staff typed in for a customer made just now."""
    found_id = registered(shop, "found@example.jp")
    actor = Actor("message:1")
    with db.transaction(shop.engine) as s:
        found = s.get(Customer, found_id)
        assert found is not None
        made = find_or_create(s, TANAKA, now=NOW, actor=actor, label="AR-1")
        assert made is not None and made.id != found_id
        assert created_here(s, made) and not created_here(s, found)
        with s.begin_nested() as savepoint:
            other = Person(name="鈴木花子", name_kana="スズキハナコ", phone="08011112222")
            assert find_or_create(s, other, now=NOW, actor=actor, label="AR-2") is not None
            savepoint.rollback()
        assert not created_here(s, made)  # forgotten with what the savepoint held: asked again
    with db.transaction(shop.engine) as s:
        again = s.get(Customer, made.id)
        assert again is not None and not created_here(s, again)
