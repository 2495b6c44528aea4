"""The booking pages after the right PIN, /b/<signed>/...: マイページ, a new booking (menu, staff or
anyone, day, a free time, the confirmation with the total), and changing or cancelling one of the
customer's bookings. Many feature phones keep no cookies, so the pages carry a short-lived signed link
of their own ([booking] session_minutes), issued with the PIN like the settings link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate import db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import booking_views, fitting
from mailgate.ledger.booking_views import BookingView
from mailgate.ledger.results import Result, Status
from mailgate.shop.availability import Offer
from mailgate.web import acting, lookup, mypage
from mailgate.web.acting import Outcome
from mailgate.web.choosing import Choice
from mailgate.web.flow import Flow, version_of
from mailgate.web.pages import Pages, message
from mailgate.web.routes.link_page import LinkPage


class BookingPages(LinkPage):
    purpose = "session"

    def __init__(self, ctx: Context, pages: Pages) -> None:
        super().__init__(ctx, pages)
        self.flow = Flow(ctx, pages)

    def routes(self) -> list[Route]:
        p = self.prefix
        return [
            Route(p, self.pages.page(self.home), methods=["GET"]),
            self.route(f"{p}/new", self.new, self.book),
            self.route(f"{p}/change/{{booking:int}}", self.change, self.move),
            self.route(f"{p}/cancel/{{booking:int}}", self.cancel_page, self.cancel),
        ]

    @staticmethod
    def base(signed: str) -> str:
        return f"/b/{signed}"

    async def _open(self, request: Request, now: datetime) -> tuple[str, lookup.CustomerView]:
        signed, view = await self.opened(request, now)
        lookup.active_only(view)
        return signed, view

    def _read(self, customer_id: int, booking_id: int | None, now: datetime) -> list[BookingView]:
        with db.transaction(self.ctx.engine) as s:
            if booking_id is None:
                return booking_views.bookings_of(s, self.ctx.ledger, customer_id, now)
            found = booking_views.booking_of(s, self.ctx.ledger, customer_id, booking_id)
            return [found] if found else []

    async def _booking(self, customer_id: int, request: Request, now: datetime, what: str) -> BookingView:
        found = await run_in_threadpool(self._read, customer_id, request.path_params["booking"], now)
        return self.flow.changeable(found[0] if found else None, now, what)

    def _actor(self, s: Session, signed: str, customer_id: int, now: datetime) -> Actor:
        """The session link again, inside the transaction that acts on it."""
        token = lookup.relookup(self.ctx, s, self.purpose, signed, now, customer_id)
        return Actor(f"link:session:{token.id}", token_id=token.id)

    def _after(self, s: Session, customer_id: int, result: Result) -> Outcome:
        found = booking_views.booking_of(s, self.ctx.ledger, customer_id, result.booking_id or 0)
        return Outcome(result, found)

    # --- マイページ ---------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        now = self.pages.now()
        signed, view = await self._open(request, now)
        bookings = await run_in_threadpool(self._read, view.id, None, now)
        return mypage.render(self.pages, request, self.ctx.cfg, view, bookings, self.base(signed), now)

    # --- a new booking ----------------------------------------------------------------------------

    async def new(self, request: Request) -> Response:
        now = self.pages.now()
        signed, _ = await self._open(request, now)
        return await self._choose(request, signed, self.flow.read(request.query_params), now)

    async def _choose(
        self, request: Request, signed: str, choice: Choice, now: datetime, **kw: Any
    ) -> Response:
        base, home = f"{self.base(signed)}/new", self.base(signed)

        def confirm(offer: Offer) -> Response:
            csrf = self.csrf_fields(signed)
            return self.flow.confirm_page(
                request, choice, offer, action=base, base=base, csrf=csrf, home=home
            )

        return await self.flow.choose(request, base, choice, now, confirm=confirm, home=home, **kw)

    async def book(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        choice = self.flow.read(form)
        start = choice.start(self.ctx.calendar)
        if choice.step != "confirm" or start is None or choice.menu is None:
            raise message(400, "ご予約内容が正しくありません", "お手数ですが、最初からお選びください。")
        now, key, menu = self.pages.now(), acting.form_key(form, str(view.id)), choice.menu.name

        def command(s: Session) -> Outcome:
            actor = self._actor(s, signed, view.id, now)
            cmd = fitting.FitBook(
                source="web",
                start=start,
                menu=menu,
                staff=choice.staff,
                customer_id=view.id,
                idempotency_key=key,
            )
            return self._after(s, view.id, fitting.book(s, self.ctx.ledger, cmd, actor, now))

        outcome = await run_in_threadpool(acting.act, self.ctx, command)
        if outcome.result.status == Status.TAKEN:
            choice, taken = self.flow.taken(choice)
            return await self._choose(request, signed, choice, now, **taken)
        return self.flow.finished(request, outcome, "book", choice.menu, self.base(signed))

    # --- change -----------------------------------------------------------------------------------

    async def change(self, request: Request) -> Response:
        now = self.pages.now()
        signed, view = await self._open(request, now)
        booking = await self._booking(view.id, request, now, "change")
        choice = self.flow.read(request.query_params, self.flow.menu_of(booking))
        return await self._change(request, signed, booking, choice, now)

    async def _change(
        self, request: Request, signed: str, booking: BookingView, choice: Choice, now: datetime, **kw: Any
    ) -> Response:
        base, home = f"{self.base(signed)}/change/{booking.id}", self.base(signed)
        return await self.flow.change(
            request, base, booking, choice, now, csrf=self.csrf_fields(signed), home=home, **kw
        )

    async def move(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        now = self.pages.now()
        booking = await self._booking(view.id, request, now, "change")
        choice = self.flow.read(form, self.flow.menu_of(booking))
        start, version = choice.start(self.ctx.calendar), version_of(form)
        if choice.step != "confirm" or start is None:
            raise message(400, "変更内容が正しくありません", "お手数ですが、最初からお選びください。")

        def command(s: Session) -> Outcome:
            actor = self._actor(s, signed, view.id, now)
            if booking_views.booking_of(s, self.ctx.ledger, view.id, booking.id) is None:
                return Outcome(Result(Status.NOT_FOUND, "not this customer's"), None)
            cmd = fitting.FitMove(booking.id, start, staff=choice.staff, version=version)
            return self._after(s, view.id, fitting.move(s, self.ctx.ledger, cmd, actor, now))

        outcome = await run_in_threadpool(acting.act, self.ctx, command)
        if outcome.result.status == Status.TAKEN:
            choice, taken = self.flow.taken(choice)
            return await self._change(request, signed, booking, choice, now, **taken)
        return self.flow.finished(request, outcome, "change", choice.menu, self.base(signed))

    # --- cancel -----------------------------------------------------------------------------------

    async def cancel_page(self, request: Request) -> Response:
        now = self.pages.now()
        signed, view = await self._open(request, now)
        booking = await self._booking(view.id, request, now, "cancel")
        return self.flow.cancel_page(request, booking, self.csrf_fields(signed), self.base(signed))

    async def cancel(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        now, version = self.pages.now(), version_of(form)
        booking = await self._booking(view.id, request, now, "cancel")

        def command(s: Session) -> Outcome:
            actor = self._actor(s, signed, view.id, now)
            if booking_views.booking_of(s, self.ctx.ledger, view.id, booking.id) is None:
                return Outcome(Result(Status.NOT_FOUND, "not this customer's"), None)
            cmd = fitting.FitCancel(booking.id, version=version)
            return self._after(s, view.id, fitting.cancel(s, self.ctx.ledger, cmd, actor, now))

        outcome = await run_in_threadpool(acting.act, self.ctx, command)
        menu = booking_views.menu_named(self.ctx.calendar, booking.menu)
        return self.flow.finished(request, outcome, "cancel", menu, self.base(signed))


def routes(ctx: Context, pages: Pages) -> list[Route]:
    return BookingPages(ctx, pages).routes()
