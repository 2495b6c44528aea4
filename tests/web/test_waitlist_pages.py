"""The waitlist on the pages: a customer told 「ちょうど埋まりました」 joins the time's waitlist with one
POST, and the seat freed later is claimed by the /w/ link of the offer mail."""

from __future__ import annotations

from sqlmodel import Session, select
from starlette.testclient import TestClient

from mailgate import db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.followup_tables import WaitEntry
from mailgate.ledger import bookings as ledger_bookings
from mailgate.ledger.matching import Person
from tests.web.booking_shop import NOW, THU, Walker, bookings, link_in, links, mail_text, outbox, sqlite_only
from tests.web.test_booking_pages import EMAIL, SEITAI, confirming, logged_in

pytestmark = sqlite_only


def someone_else_takes_tanaka() -> ledger_bookings.Book:
    return ledger_bookings.Book(
        source="stores",
        start=THU,
        staff="田中",
        menu="整体",
        customer=Person(email="other@example.jp", name="他人"),
        external_id="R-9",
    )


def joined(ctx: Context, client: TestClient) -> Walker:
    """A customer on the confirmation page when the time is taken, who joins its waitlist."""
    w = confirming(ctx, client, "田中")
    with db.transaction(ctx.engine) as s:
        ledger_bookings.book(s, ctx.ledger, someone_else_takes_tanaka(), Actor("test"), NOW)
    w.submit(status=409)
    assert "ちょうど埋まりました" in w.page
    w.click("この時間のキャンセル待ちをする")
    assert "キャンセル待ちに登録する" in w.page and "田中" in w.page
    w.submit()
    assert "キャンセル待ちを承りました" in w.page
    return w


def test_a_full_time_is_waited_for_by_one_post_and_its_freed_seat_claimed_by_the_link(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    w = joined(shop_ctx, shop_client)
    with db.transaction(shop_ctx.engine) as s:
        [entry] = s.exec(select(WaitEntry)).all()
        assert (entry.start, entry.staff, entry.state) == (THU, "田中", "waiting")
        cancel = ledger_bookings.Cancel(source="stores", external_id="R-9")
        ledger_bookings.cancel(s, shop_ctx.ledger, cancel, Actor("test"), NOW)
    [offer] = [m for m in outbox(shop_ctx, EMAIL) if m.template == "waitlist_offer"]
    w.get(link_in(mail_text(shop_ctx, offer), "w"))
    assert "キャンセル待ちのお席" in w.page
    w.submit()
    mine = [b for b in bookings(shop_ctx) if b.source == "waitlist"]
    assert [(b.start, b.staff, b.status) for b in mine] == [(THU, "田中", "confirmed")]
    w.get(link_in(mail_text(shop_ctx, offer), "w"))  # used: says what it did
    assert "確定しています" in w.page


def test_the_days_times_show_a_full_time_whose_link_joins_its_waitlist(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    with db.transaction(shop_ctx.engine) as s:
        ledger_bookings.book(s, shop_ctx.ledger, someone_else_takes_tanaka(), Actor("test"), NOW)
    w = logged_in(shop_ctx, shop_client)
    w.click("新しく予約する")
    w.choose(SEITAI, "田中", "12/3(木)", "11:00")  # a free time: the confirmation page
    w.click("時間を選び直す")
    times = links(w.page)
    assert "11:00" in times and "13:00" not in times and "13:00 満席(キャンセル待ち)" in times
    w.click("13:00 満席(キャンセル待ち)")
    w.submit()
    assert "キャンセル待ちを承りました" in w.page
    with Session(shop_ctx.engine) as s:
        [entry] = s.exec(select(WaitEntry)).all()
    assert (entry.start, entry.staff, entry.state) == (THU, "田中", "waiting")


def test_mypage_lists_the_times_waited_for_and_one_can_stop_waiting(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    w = joined(shop_ctx, shop_client)
    w.get(w.url.rsplit("/wait", 1)[0])  # マイページ: /b/<signed>
    assert "キャンセル待ち" in w.page and "12月03日" in w.page
    w.click("やめる")
    w.submit()
    assert "キャンセル待ちをやめました" in w.page
    with Session(shop_ctx.engine) as s:
        assert [e.state for e in s.exec(select(WaitEntry))] == ["left"]
