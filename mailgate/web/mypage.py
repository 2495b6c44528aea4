"""マイページ: the customer's bookings from every source (a page, a mail, a vendor, the shop), each with
change and cancel while the menu's deadlines allow (after them: the deadline and the shop's phone),
and the way to book. Shown after the right PIN, and again from the booking pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mailgate import deadlines, normalize
from mailgate.config import Config
from mailgate.ledger.booking_views import MAX_LISTED, BookingView
from mailgate.web.lookup import CustomerView
from mailgate.web.pages import Pages


def render(
    pages: Pages,
    request: Request,
    cfg: Config,
    me: CustomerView,
    bookings: list[BookingView],
    base: str,
    now: datetime,
    settings_url: str = "",
    waits: list[dict[str, Any]] | None = None,
) -> Response:
    """`base`: the booking pages' path (/b/<signed>); settings_url: a fresh settings link (after the PIN);
    `waits`: the times the customer waits for (ledger/waitlist.waits_of)."""
    hours = cfg.links.settings_hours
    return pages.render(
        request,
        "mypage.html.j2",
        name=me.name,
        name_kana=me.name_kana,
        phone=normalize.mask_phone(me.phone),
        settings_url=settings_url,
        settings_hours=str(int(hours)) if float(hours).is_integer() else f"{hours:g}",
        book_url=f"{base}/new",
        bookings=[_item(cfg, b, base, now) for b in bookings[:MAX_LISTED]],
        more=len(bookings) > MAX_LISTED,
        session_minutes=cfg.booking.session_minutes,
        waits=[{**w, "leave": f"{base}/wait/{w['id']}/leave"} for w in waits or []],
    )


def _item(cfg: Config, b: BookingView, base: str, now: datetime) -> dict[str, Any]:
    change, cancel = b.can_change(now), b.can_cancel(now)
    late = []
    if not change:
        late.append(f"変更は{deadlines.describe(b.change_rule)}")
    if not cancel:
        late.append(f"キャンセルは{deadlines.describe(b.cancel_rule)}")
    phone = f"お電話で: {cfg.shop.phone}" if cfg.shop.phone else "お店に直接ご連絡ください"
    return {
        "shown": b.shown,
        "change": f"{base}/change/{b.id}" if change else "",
        "cancel": f"{base}/cancel/{b.id}" if cancel else "",
        "late": f"{'、'.join(late)}です。{phone}" if late else "",
    }
