"""What a booking tells people when it is made, changed, confirmed or cancelled: the customer (with
the booking in the shop's time, links for this version of it, and an .ics), and staff, who must block
the time in the vendors' systems at once (grouped like every staff alert)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.ledger import addons, answers, booking_links, reply_keys, staff_alerts
from mailgate.ledger.env import LedgerEnv
from mailgate.mail import ics
from mailgate.mail.addresses import domain_of
from mailgate.models import Booking, BookingStatus, Customer, Outbox

TEMPLATES = {
    "booked": {
        BookingStatus.CONFIRMED: "booking_confirmed",
        BookingStatus.TENTATIVE: "booking_tentative",
        BookingStatus.APPLICATION: "booking_application",
    },
    "confirmed": {BookingStatus.CONFIRMED: "booking_confirmed"},
    "changed": {s: "booking_changed" for s in BookingStatus.LIVE},
    "cancelled": {BookingStatus.CANCELLED: "booking_cancelled"},
    "reminder": {BookingStatus.CONFIRMED: "booking_reminder"},  # ledger/reminders.py, never to staff
}
WORDS = {"booked": "予約", "confirmed": "確定", "changed": "変更", "cancelled": "キャンセル"}


def view(
    env: LedgerEnv, booking: Booking, options: list[str] | None = None, replies: list[str] | None = None
) -> dict[str, Any]:
    """The booking as mails show it, in the shop's time; `options`: its add-ons (addons.names),
    `replies`: its answers to the menu's questions (answers.lines)."""
    tz = env.cfg.tz
    start, end = booking.start.astimezone(tz), booking.end.astimezone(tz)
    return {
        "id": booking.id,
        "day": f"{start:%Y年%m月%d日}({'月火水木金土日'[start.weekday()]})",
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "menu": booking.menu or "-",
        "staff": booking.staff or "指名なし",
        "price": booking.price,
        "addons": options or [],
        "answers": replies or [],
        "state": booking.status,
        "expires": f"{booking.expires_at.astimezone(tz):%m/%d %H:%M}" if booking.expires_at else "",
    }


def calendar(env: LedgerEnv, booking: Booking, now: datetime) -> str:
    return ics.event(
        uid=f"booking-{booking.id}@{domain_of(env.cfg.sender)}",
        start=booking.start,
        end=booking.end,
        summary=f"{env.cfg.shop.name} {booking.menu}".strip(),
        tz=env.cfg.tz,
        sequence=booking.version,
        location=env.cfg.shop.name,
        cancelled=booking.status == BookingStatus.CANCELLED,
        stamp=now,
    )


def notify(
    session: Session,
    env: LedgerEnv,
    booking: Booking,
    what: str,
    actor: Actor,
    now: datetime,
    *,
    staff: bool = True,
) -> Outbox | None:
    """Mail the customer (when mailgate has their address) and alert staff about this booking; the
    customer's mail, None when none could go."""
    template = TEMPLATES[what].get(booking.status)
    customer = session.get(Customer, booking.customer_id) if booking.customer_id else None
    shown = view(env, booking, addons.names(session, booking.id), answers.lines(session, booking.id))
    mail = None
    if template and customer is not None and customer.email:
        links: dict[str, object] = {}
        if booking.status in BookingStatus.LIVE:
            if booking.status == BookingStatus.TENTATIVE:
                links["confirm_url"] = booking_links.issue(session, booking, "confirm", now)
            links["change_url"] = booking_links.issue(session, booking, "change", now)
            links["cancel_url"] = booking_links.issue(session, booking, "cancel", now)
        holds = booking.status in (*BookingStatus.HOLDING, BookingStatus.CANCELLED)
        # 「キャンセル」 in reply to this mail finds this booking (ledger/mail_booking.py).
        key = (
            reply_keys.new(session, customer.id or 0, now, booking.start, booking_id=booking.id)
            if booking.status in BookingStatus.LIVE
            else None
        )
        mail = env.mailer.enqueue(
            session,
            to=customer.email,
            template=template,
            now=now,
            actor=actor,
            customer_id=customer.id,
            capped=False,  # the shop owes this mail to a customer who acted
            reply_address=reply_keys.address(env.cfg, key.key) if key else "",
            calendar=calendar(env, booking, now) if holds else "",
            customer=customer,
            booking=shown,
            phone=env.cfg.shop.phone,
            reply_cancel=key is not None,
            **links,
        )
        if key is not None:
            reply_keys.sent(key, mail)
    if staff:
        staff_alerts.raise_alert(
            session,
            env,
            "staff_booking",
            actor,
            now,
            customer_id=booking.customer_id,
            booking=shown,
            what=WORDS[what],
            source=booking.source,
            customer=customer,
        )
    return mail
