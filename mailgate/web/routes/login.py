"""The personal (bookmark) page, /m/: GET asks for the PIN; the right PIN shows マイページ (the customer's
bookings, the way to book) with a fresh settings link and the booking pages' own short-lived link;
too many wrong ones lock the account for a while."""

from __future__ import annotations

import math
import threading
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate import db, normalize, tokens
from mailgate.context import Context
from mailgate.ledger import booking_views, logins, waitlist
from mailgate.links import PREFIX, LinkError
from mailgate.models import CustomerStatus
from mailgate.web import lookup, mypage
from mailgate.web.lookup import CustomerView
from mailgate.web.pages import Page, Pages
from mailgate.web.routes.link_page import OnePage


class PinLocks:
    """PIN checks of one customer run one at a time in this process, so parallel guesses cannot slip past
    the failure counter (SQLite has no SELECT ... FOR UPDATE; on PostgreSQL the row lock does the same)."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = tuple(threading.Lock() for _ in range(stripes))

    def of(self, customer_id: int) -> threading.Lock:
        return self._locks[customer_id % len(self._locks)]


class Login(OnePage):
    purpose = "login"

    def __init__(self, ctx: Context, pages: Pages, locks: PinLocks) -> None:
        super().__init__(ctx, pages)
        self.locks = locks

    def locked_page(self, until: datetime | None, now: datetime) -> Page:
        left = math.ceil((until - now).total_seconds() / 60) if until else self.ctx.cfg.links.lock_minutes
        return Page(
            423,
            "locked.html.j2",
            minutes=left,
            until=until.astimezone(self.ctx.cfg.tz).strftime("%H:%M") if until else "",
        )

    def form(
        self,
        request: Request,
        signed: str,
        status: int = 200,
        error: str = "",
        remaining: tuple[int, int] | None = None,
    ) -> Response:
        """remaining: (wrong PINs left before the lock, how many minutes that lock lasts)."""
        tries, minutes = remaining or (None, self.ctx.cfg.links.lock_minutes)
        return self.pages.render(
            request,
            "login.html.j2",
            status,
            error=error,
            remaining=tries,
            minutes=minutes,
            **self.csrf_fields(signed),
        )

    async def show(self, request: Request) -> Response:
        now = self.pages.now()
        signed, view = await self.opened(request, now)
        lookup.active_only(view)
        if view.locked_until is not None and view.locked_until > now:
            raise self.locked_page(view.locked_until, now)
        return self.form(request, signed)

    async def submit(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        try:
            pin = normalize.pin(form.get("pin", ""))
        except normalize.NormalizeError as e:
            return self.form(request, signed, 400, error=str(e))
        now = self.pages.now()
        outcome, data = await run_in_threadpool(self.attempt, signed, view.id, pin, now)
        if outcome == "locked":
            raise self.locked_page(data, now)
        if outcome == "wrong":
            return self.form(request, signed, 401, error="暗証番号が違います。", remaining=data)
        me, settings_url, session, bookings, waits = data
        base = f"/{PREFIX['session']}/{self.ctx.signer.sign(*session)}"
        return mypage.render(self.pages, request, self.ctx.cfg, me, bookings, base, now, settings_url, waits)

    def attempt(self, signed: str, customer_id: int, pin: str, now: datetime) -> tuple[str, Any]:
        """("locked", until) | ("wrong", (tries left, minutes of the lock they lead to)) |
        ("ok", (the customer, a settings URL, the booking pages' link, the customer's bookings, the
        times they wait for))."""
        links = self.ctx.cfg.links
        with self.locks.of(customer_id), db.transaction(self.ctx.engine) as s:
            token = lookup.relookup(self.ctx, s, self.purpose, signed, now, customer_id)
            customer = lookup.locked_customer(s, customer_id)
            if customer.status != CustomerStatus.ACTIVE:
                raise LinkError("revoked")
            if logins.is_locked(customer, now):
                return "locked", tokens.aware(customer.locked_until)
            if not logins.try_pin(s, self.ctx.ledger, customer, token, pin, now):
                if logins.is_locked(customer, now):
                    return "locked", tokens.aware(customer.locked_until)
                minutes = logins.lock_length(self.ctx.ledger, customer.lockouts).total_seconds() // 60
                return "wrong", (max(0, links.pin_attempts - customer.pin_failures), int(minutes))
            return "ok", (
                CustomerView.of(customer),
                logins.open_settings(s, self.ctx.ledger, customer, now),
                logins.open_session(s, self.ctx.ledger, customer, now),
                booking_views.bookings_of(s, self.ctx.ledger, customer_id, now),
                waitlist.waits_of(s, self.ctx.ledger, customer_id, now),
            )


def routes(ctx: Context, pages: Pages, locks: PinLocks) -> list[Route]:
    return Login(ctx, pages, locks).routes()
