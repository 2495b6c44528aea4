"""[booking]: what customers may do by link and by mail."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from mailgate.config.sections import Deadline, Section


def _span(v: str) -> str:
    if not re.fullmatch(r"\d{1,4}[mhd]", v.strip()):
        raise ValueError('a length of time: "90m", "6h" or "1d"')
    return v.strip()


class BookingSection(Section):
    # A tentative booking (仮予約) holds its seat this long for its confirm link.
    tentative_minutes: int = Field(30, gt=0, le=7 * 24 * 60)
    # Limits per customer, checked in the booking's own transaction; 0: no limit.
    max_open: int = Field(5, ge=0)  # bookings not yet over
    max_per_day: int = Field(2, ge=0)  # on one day of the shop
    max_per_month: int = Field(8, ge=0)  # in one calendar month
    # A vendor's change or cancel (STORES予約 ...) is mailed to the customer too, when mailgate has
    # their address (the vendor mails them as well: off unless the shop wants both).
    notify_vendor_changes: bool = False
    # The booking pages stay open this long after the right PIN on the personal link (no cookies:
    # feature phones lose them; the pages carry a signed link of their own).
    session_minutes: int = Field(60, gt=0, le=24 * 60)
    # Guests (not registered) book a tentative hold confirmed by mail within tentative_minutes.
    # Open holds are limited per email (mailbox), per web client and in all, so made-up addresses
    # cannot hold a shop's seats; 0: no limit.
    guest_holds_per_email: int = Field(1, ge=0)
    guest_holds_per_client: int = Field(3, ge=0)
    guest_holds_total: int = Field(20, ge=0)
    # Whether the public page takes guests at all.
    guests: bool = True
    # Reminder mails before a confirmed booking, in the deadline rules' words ("1d18:00": the day
    # before at 18:00, "2h": 2 hours before), for menus without reminders of their own; [] = none.
    reminders: list[Deadline] = Field(default_factory=list)
    # A reminder whose moment passed while mailgate was down is still sent this long after it;
    # older ones are recorded as skipped.
    reminder_catch_up: Annotated[str, AfterValidator(_span)] = "6h"
    # A seat freed for the first customer on a full time's waitlist (キャンセル待ち) is held this long
    # for the claim link mailed to them; then it passes to the next one waiting.
    waitlist_offer_minutes: int = Field(30, gt=0, le=7 * 24 * 60)
