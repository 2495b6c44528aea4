"""`mailgate customers search|show|edit|merge|link|unlink` on the generated month (250 customers, a
month of bookings), on SQLite and PostgreSQL: a customer found however the operator types them, an
edit checked like the settings form and audited old -> new, two customers merged into one with every
row moved, an extra address owned by one customer only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jaconv
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.customer_addresses import CustomerAddress
from mailgate.followup_tables import WaitEntry
from mailgate.models import Booking, Customer, Event, Inquiry, Token
from tests.cli.test_desk import run
from tests.e2e.helpers import cli

AT = datetime(2031, 12, 20, 1, tzinfo=UTC)


def session(cfg: Path) -> Session:
    return Session(db.make_engine(config.load(cfg).db_url))


def test_search_finds_a_customer_however_the_name_phone_or_address_is_typed(month: Path) -> None:
    me = cli(month, "customers", "show", "7")
    kana = me["name_kana"]
    family = me["name"][:2]
    # The reading in half-width katakana with a space, in hiragana; part of the kanji name.
    half = jaconv.z2h(kana[:2], kana=True) + " " + jaconv.z2h(kana[2:], kana=True)
    for typed in (half, jaconv.kata2hira(kana), f"{family} {me['name'][2:]}"):
        found = cli(month, "customers", "search", "--name", typed)["customers"]
        assert 7 in [f["id"] for f in found], typed
    phone = me["phone"]  # 09000000007
    for typed in (
        f"+81 {phone[1:3]}-{phone[3:7]}-{phone[7:]}",
        f"０{phone[1:]}",
        f"({phone[:3]}) {phone[3:]}",
    ):
        [found] = cli(month, "customers", "search", "--phone", typed, "--now", "2032-01-01")["customers"]
        assert found["id"] == 7 and found["phone"] == phone
    assert found["bookings"] > 0 and found["last_visit"].startswith("2031-12")  # the month's visits
    assert found["last_visit"].endswith("+09:00")  # in the shop's zone
    # Few at a time, and how many more there are.
    listed = cli(month, "customers", "search", "--phone", "0900000", "--limit", "5")
    assert len(listed["customers"]) == 5 and listed["more"] == 245
    code, shown = run(month, "customers", "search", "--phone", "0900000", "--limit", "5")
    assert code == 0 and "250 customers (245 more" in shown and "times in Asia/Tokyo" in shown
    with_mail = next(f for f in cli(month, "customers", "search", "--email", "@example.jp")["customers"])
    by_mail = cli(month, "customers", "search", "--email", with_mail["emails"][0].upper())["customers"]
    assert [f["id"] for f in by_mail] == [with_mail["id"]]
    assert cli(month, "customers", "search", "--name", "存在しない名前")["customers"] == []
    # All 250 were created on 2026-01-01 (09:00 in Tokyo): the days are the shop's.
    day = ["--from", "2026-01-01", "--to", "2026-01-01", "--status", "ledger", "--limit", "1"]
    assert cli(month, "customers", "search", *day)["more"] == 249
    assert cli(month, "customers", "search", "--from", "2026-01-02")["customers"] == []
    assert run(month, "customers", "search", "--from", "1/2")[0] == 2


def test_edit_checks_like_the_settings_form_and_records_old_and_new(month: Path) -> None:
    before = cli(month, "customers", "show", "7")
    done = cli(month, "customers", "edit", "7", "--phone", "080-1111-2222", "--kana", "やまだ はなこ",
               "--memo", "右肩", "--as", "sato")  # fmt: skip
    assert done["changed"]["phone"] == [before["phone"], "08011112222"]
    assert done["changed"]["name_kana"][1] == "ヤマダハナコ"
    shown = cli(month, "customers", "show", "7")
    assert (shown["phone"], shown["memo"]) == ("08011112222", "右肩")
    [event] = [e for e in shown["events"] if e["kind"] == "customer_edited"]
    assert event["actor"] == "operator:sato"
    assert event["detail"]["changes"]["memo"] == ["", "右肩"]
    assert event["detail"]["changes"]["phone"] == ["090******07", "080******22"]  # masked, as in logs
    code, said = run(month, "customers", "edit", "7", "--phone", "12-34")
    assert code == 1 and "phone: 電話番号の桁数が正しくありません" in said
    code, said = run(month, "customers", "edit", "7", "--status", "deleted")
    assert code == 1 and "status: one of pending, active, ledger" in said
    assert run(month, "customers", "edit", "999999", "--memo", "x")[0] == 1
    assert cli(month, "customers", "show", "7")["phone"] == "08011112222"  # the refusals changed nothing


def test_merge_moves_everything_of_the_other_customer_in_one_go(month: Path) -> None:
    keep, other = 8, 7  # 8 has an address, 7 (known by phone) is given one
    with session(month) as s, s.begin():
        gone = s.get(Customer, other)
        assert gone is not None
        address = gone.email = "other.7@example.jp"
        gone.email_key = address.lower()
        s.add(Token(purpose="login", customer_id=other))
        s.add(Inquiry(source="stores", customer_id=other, kind="question"))
        s.add(WaitEntry(customer_id=other, menu="整体 30分", start=AT, open_key=f"{other}:x"))
    with session(month) as s:
        theirs = len(s.exec(select(Booking.id).where(Booking.customer_id == other)).all())
    assert theirs > 0
    plan = cli(month, "customers", "merge", str(keep), str(other), "--dry-run")
    assert plan["moved"]["booking"] == theirs and plan["moved"]["token"] == 1 and plan["dry_run"]
    assert cli(month, "customers", "show", str(other))["status"] != "merged"  # a dry run changes nothing

    done = cli(month, "customers", "merge", str(keep), str(other), "--as", "sato")
    assert done["moved"] == plan["moved"] and done["address"] == address
    with session(month) as s:
        assert s.exec(select(Booking.id).where(Booking.customer_id == other)).all() == []
        [token] = s.exec(select(Token).where(Token.customer_id == keep)).all()
        assert token.revoked_at is not None  # the other's links stop working
        assert s.exec(select(Inquiry.customer_id)).all() == [keep]
        [entry] = s.exec(select(WaitEntry)).all()
        assert (entry.customer_id, entry.open_key) == (keep, f"{keep}:20311220T0100")
        merged = s.get(Customer, other)
        assert merged is not None and (merged.status, merged.merged_into, merged.name) == ("merged", keep, "")
        assert s.exec(select(CustomerAddress.customer_id).where(CustomerAddress.email == address)).all() == [
            keep
        ]
        kinds = {
            (e.customer_id, e.kind, e.actor)
            for e in s.exec(select(Event).where(col(Event.kind).startswith("customer_merged")))
        }
        assert kinds == {
            (keep, "customer_merged", "operator:sato"),
            (other, "customer_merged_into", "operator:sato"),
        }
    kept = cli(month, "customers", "show", str(keep))
    assert address in kept["extra_addresses"] and "統合した顧客 #7" in kept["memo"]
    assert [f["id"] for f in cli(month, "customers", "search", "--email", address)["customers"]] == [keep]
    for refused in ((keep, keep), (other, keep), (keep, other)):
        code, said = run(month, "customers", "merge", *map(str, refused))
        assert code == 1 and ("itself" in said or "is merged" in said), said
    code, said = run(month, "customers", "erase", str(other), "--yes")
    assert code == 1 and f"merged into {keep}" in said
    assert run(month, "customers", "erase", str(keep), "--yes")[0] == 0  # the address merged in goes too
    assert cli(month, "customers", "search", "--email", address, "--status", "deleted")["customers"] == []
    with session(month) as s:
        assert s.exec(select(CustomerAddress)).all() == []


def test_an_extra_address_belongs_to_one_customer_only(month: Path) -> None:
    """Customer 8 has an address, customer 7 only a phone (the generated month)."""
    new = "hanako.new@docomo.ne.jp"
    assert run(month, "customers", "link", "8", new, "--as", "sato")[0] == 0
    code, said = run(month, "customers", "link", "9", new.upper())
    assert code == 1 and "customer #8's" in said
    with session(month) as s:
        [email] = s.exec(select(Customer.email).where(Customer.email != "", Customer.id != 8).limit(1)).all()
    code, said = run(month, "customers", "link", "8", email)
    assert code == 1 and "already customer #" in said
    assert run(month, "customers", "link", "8", "not an address")[0] == 1
    assert [f["id"] for f in cli(month, "customers", "search", "--email", "new@docomo")["customers"]] == [8]
    assert run(month, "customers", "unlink", "9", new)[0] == 1  # not theirs
    assert run(month, "customers", "unlink", "8", new)[0] == 0
    assert cli(month, "customers", "search", "--email", new)["customers"] == []
    assert run(month, "customers", "link", "9", new)[0] == 0  # free again
    # A customer known only by phone: the address becomes email 1, where mailgate's own mail goes.
    with session(month) as s:
        [no_mail] = s.exec(select(Customer.id).where(Customer.email == "").limit(1)).all()
    code, said = run(month, "customers", "link", str(no_mail), "hanako.2nd@docomo.ne.jp")
    assert code == 0 and "is now email 1" in said
    assert cli(month, "customers", "show", str(no_mail))["email"] == "hanako.2nd@docomo.ne.jp"
