"""The booking pages after the right PIN, /b/<signed>/...: マイページ, a new booking (menu, staff or
anyone, day, a free time, the confirmation with the total), and changing or cancelling one of the
customer's bookings. Many feature phones keep no cookies, so the pages carry a short-lived signed link
of their own ([booking] session_minutes), issued with the PIN like the settings link."""

from __future__ import annotations

from collections.abc import Callable
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
from mailgate.ledger import booking_views, fitting, waitlist
from mailgate.ledger.booking_views import BookingView
from mailgate.ledger.results import Result, Status
from mailgate.shop.availability import Offer
from mailgate.web import acting, choosing, lookup, mypage, questions, refusals
from mailgate.web.acting import Outcome
from mailgate.web.choosing import Choice
from mailgate.web.flow import Flow, version_of
from mailgate.web.pages import Pages, message
from mailgate.web.routes.link_page import LinkPage

_WAITING = (
    "空きが出たら、お席をお取りしてメールでお知らせします。メールのリンクから期限までに確定してください。"
)
_FREE = "この時間は、いま空いています。お手数ですが、もう一度お選びください。"


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
            self.route(f"{p}/wait", self.wait_page, self.wait),
            self.route(f"{p}/wait/{{entry:int}}/leave", self.leave_page, self.leave),
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
        waits = await run_in_threadpool(
            self._in_transaction, lambda s: waitlist.waits_of(s, self.ctx.ledger, view.id, now)
        )
        base = self.base(signed)
        return mypage.render(self.pages, request, self.ctx.cfg, view, bookings, base, now, waits=waits)

    # --- a new booking ----------------------------------------------------------------------------

    async def new(self, request: Request) -> Response:
        now = self.pages.now()
        signed, _ = await self._open(request, now)
        return await self._choose(request, signed, self.flow.read(request.query_params), now)

    async def _choose(
        self,
        request: Request,
        signed: str,
        choice: Choice,
        now: datetime,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        **kw: Any,
    ) -> Response:
        base, home = f"{self.base(signed)}/new", self.base(signed)

        def confirm(offer: Offer) -> Response:
            csrf = self.csrf_fields(signed)
            return self.flow.confirm_page(
                request, choice, offer, action=base, base=base, csrf=csrf, home=home,
                values=values or {}, errors=errors or {}, status=400 if errors else 200,
            )  # fmt: skip

        wait_page = f"{self.base(signed)}/wait"
        return await self.flow.choose(
            request, base, choice, now, confirm=confirm, home=home, wait_page=wait_page, **kw
        )

    async def book(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        choice = self.flow.read(form)
        start = choice.start(self.ctx.calendar)
        if choice.step != "confirm" or start is None or choice.menu is None:
            raise message(400, "ご予約内容が正しくありません", "お手数ですが、最初からお選びください。")
        now, key, menu = self.pages.now(), acting.form_key(form, str(view.id)), choice.menu.name
        replies, wrong = questions.read(choice.menu, form)
        if wrong:
            typed = questions.typed(choice.menu, form)
            return await self._choose(request, signed, choice, now, values=typed, errors=wrong)

        def command(s: Session) -> Outcome:
            actor = self._actor(s, signed, view.id, now)
            cmd = fitting.FitBook(
                source="web",
                start=start,
                menu=menu,
                staff=choice.staff,
                customer_id=view.id,
                idempotency_key=key,
                addons=choice.addons,
                answers=replies,
            )
            return self._after(s, view.id, fitting.book(s, self.ctx.ledger, cmd, actor, now))

        outcome = await run_in_threadpool(acting.act, self.ctx, command)
        if outcome.result.status == Status.TAKEN:
            wait = choosing.href(f"{self.base(signed)}/wait", self.ctx.calendar, choice)
            choice, taken = self.flow.taken(choice, outcome.result)
            return await self._choose(request, signed, choice, now, wait=wait, **taken)
        return self.flow.finished(request, outcome, "book", choice.menu, self.base(signed))

    # --- the waitlist of a full time (ledger/waitlist.py) --------------------------------------------

    async def wait_page(self, request: Request) -> Response:
        signed, _ = await self._open(request, self.pages.now())
        choice = self.flow.read(request.query_params)
        if choice.step != "confirm" or choice.start(self.ctx.calendar) is None:
            raise message(
                400, "キャンセル待ちの時間が正しくありません", "お手数ですが、最初からお選びください。"
            )
        return self.pages.render(
            request,
            "wait.html.j2",
            picked={
                **choosing.summary(self.ctx.calendar, choice),
                "time": choice.time[:2] + ":" + choice.time[2:],
            },
            minutes=self.ctx.cfg.booking.waitlist_offer_minutes,
            action=f"{self.base(signed)}/wait",
            fields=choosing.fields_of(self.ctx.calendar, choice),
            home=self.base(signed),
            **self.csrf_fields(signed),
        )

    async def wait(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        choice, now = self.flow.read(form), self.pages.now()
        start = choice.start(self.ctx.calendar)
        if choice.step != "confirm" or start is None or choice.menu is None:
            raise message(
                400, "キャンセル待ちの時間が正しくありません", "お手数ですが、最初からお選びください。"
            )
        cmd = waitlist.Join(view.id, choice.menu.name, start, choice.staff)

        def command(s: Session) -> Result:
            return waitlist.join(s, self.ctx.ledger, cmd, self._actor(s, signed, view.id, now), now)

        with_db = await run_in_threadpool(self._in_transaction, command)
        if with_db.status in (Status.CREATED, Status.ALREADY):
            return self.pages.show(request, message(200, "キャンセル待ちを承りました", _WAITING))
        if with_db.code == "free":
            return self.pages.show(request, message(409, "この時間は空いています", _FREE))
        raise refusals.refusal(self.ctx.cfg, with_db, "book", choice.menu)

    async def leave_page(self, request: Request) -> Response:
        signed, _ = await self._open(request, self.pages.now())
        return self.pages.render(
            request,
            "wait.html.j2",
            picked={},
            leaving=True,
            action=f"{self.base(signed)}/wait/{request.path_params['entry']}/leave",
            fields={},
            home=self.base(signed),
            **self.csrf_fields(signed),
        )

    async def leave(self, request: Request) -> Response:
        signed, view, _ = await self.posted(request, lookup.active_only)
        now, entry = self.pages.now(), request.path_params["entry"]

        def command(s: Session) -> Result:
            return waitlist.leave(s, view.id, entry, self._actor(s, signed, view.id, now), now)

        done = await run_in_threadpool(self._in_transaction, command)
        if done.status == Status.NOT_FOUND:
            raise message(404, "キャンセル待ちが見つかりません", "キャンセル待ちが見つかりません。")
        return self.pages.show(
            request, message(200, "キャンセル待ちをやめました", "キャンセル待ちを取り消しました。")
        )

    def _in_transaction(self, command: Callable[[Session], Any]) -> Any:
        with db.transaction(self.ctx.engine) as s:
            return command(s)

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
