"""The links a booking's mails carry: /k/ confirm a tentative booking, /h/ change it, /x/ cancel it,
/w/ claim a seat held for a waitlist.
Each works once and only for the version of the booking it was mailed with: after a change the old
links say so (the newer mail has the links that work). GET shows the booking and a button; POST acts,
and uses the link in the same transaction, only when the action happens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate import db, tokens
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import booking_links, booking_views, fitting, waitlist_claim
from mailgate.ledger.booking_views import BookingView
from mailgate.ledger.results import Result, Status
from mailgate.links import LinkError
from mailgate.models import Booking, BookingStatus
from mailgate.web import acting, forms
from mailgate.web.acting import Outcome
from mailgate.web.flow import Flow, version_of
from mailgate.web.pages import Handler, Pages, message
from mailgate.web.routes.link_page import OnePage

Command = Callable[[Session, Booking, Actor], Result]


# purpose -> (the state a used link left its booking in, the page's title and line).
_DONE = {
    "confirm": (BookingStatus.CONFIRMED, "ご予約は確定しています", "このご予約は確定しています。"),
    "cancel": (BookingStatus.CANCELLED, "キャンセル済みです", "このご予約はキャンセルされています。"),
    "claim": (BookingStatus.CONFIRMED, "ご予約は確定しています", "このご予約は確定しています。"),
}


class BookingLink(OnePage):
    def __init__(self, ctx: Context, pages: Pages) -> None:
        super().__init__(ctx, pages)
        self.flow = Flow(ctx, pages)

    def routes(self) -> list[Route]:
        return [self.route(self.prefix, self._used(self.show), self._used(self.submit))]

    def _used(self, handler: Handler) -> Handler:
        """A used link (a double tap on the button, or opened again) shows what it did, when it did."""

        async def either(request: Request) -> Response:
            try:
                return await handler(request)
            except LinkError as e:
                if e.kind != "used" or self.purpose not in _DONE:
                    raise
                booking = await run_in_threadpool(self._used_by, request.path_params["signed"])
                state, title, line = _DONE[self.purpose]
                if booking is None or booking.state != state:
                    raise
                return self.pages.render(
                    request, "booking_done.html.j2", title=title, lines=[line], booking=booking.shown, home=""
                )

        return either

    def _used_by(self, signed: str) -> BookingView | None:
        with db.transaction(self.ctx.engine) as s:
            booking = booking_links.used_by(s, self.ctx.signer, self.purpose, signed)
            return booking_views.view_of(self.ctx.ledger, booking) if booking else None

    def _view(self, signed: str, now: datetime) -> BookingView:
        with db.transaction(self.ctx.engine) as s:
            _, booking = booking_links.open_link(s, self.ctx.signer, self.purpose, signed, now)
            return booking_views.view_of(self.ctx.ledger, booking)

    async def booking(self, request: Request, now: datetime) -> tuple[str, BookingView]:
        """The signed part of the link and its booking, or LinkError ('changed' after a change)."""
        signed = request.path_params["signed"]
        return signed, await run_in_threadpool(self._view, signed, now)

    async def form(self, request: Request, now: datetime) -> tuple[str, BookingView, dict[str, str]]:
        form = await forms.read_form(request)
        signed, view = await self.booking(request, now)
        forms.check_csrf(self.ctx.signer.secrets, self.purpose, signed, form)
        return signed, view, form

    async def act(self, signed: str, now: datetime, command: Command) -> Outcome:
        def run(s: Session) -> Outcome:
            token, booking = booking_links.open_link(s, self.ctx.signer, self.purpose, signed, now, lock=True)
            tokens.use(s, token, now)  # rolled back with the rest when the ledger refuses
            result = command(s, booking, Actor(f"link:{self.purpose}:{token.id}", token_id=token.id))
            found = s.get(Booking, result.booking_id) if result.booking_id else None
            return Outcome(result, booking_views.view_of(self.ctx.ledger, found) if found else None)

        return await run_in_threadpool(acting.act, self.ctx, run)


class ConfirmLink(BookingLink):
    purpose = "confirm"
    question = ("ご予約の確定", "この内容でよろしければ、予約を確定してください。", "予約を確定する")

    async def show(self, request: Request) -> Response:
        signed, booking = await self.booking(request, self.pages.now())
        if booking.state == BookingStatus.CONFIRMED:
            raise message(200, "確定済みです", "このご予約はすでに確定しています。")
        if booking.state != BookingStatus.TENTATIVE:
            raise message(410, "確定できません", "このご予約はキャンセル済みか、取り消されています。")
        return self.flow.ask(request, booking, self.question, self.csrf_fields(signed))

    async def submit(self, request: Request) -> Response:
        now = self.pages.now()
        signed, _, _ = await self.form(request, now)

        def confirm(s: Session, booking: Booking, actor: Actor) -> Result:
            return self.confirm(s, booking.id or 0, actor, now)

        return self.flow.finished(request, await self.act(signed, now, confirm), "confirm", None)

    def confirm(self, s: Session, booking_id: int, actor: Actor, now: datetime) -> Result:
        return fitting.confirm(s, self.ctx.ledger, booking_id, actor, now)


class ClaimLink(ConfirmLink):
    """/w/...: a seat freed and held for the first one on a waitlist (ledger/waitlist.py)."""

    purpose = "claim"
    question = ("キャンセル待ちのお席", "このお席でよろしければ、予約を確定してください。", "予約を確定する")

    def confirm(self, s: Session, booking_id: int, actor: Actor, now: datetime) -> Result:
        return waitlist_claim.claim(s, self.ctx.ledger, booking_id, actor, now)


class ChangeLink(BookingLink):
    purpose = "change"

    async def show(self, request: Request) -> Response:
        now = self.pages.now()
        signed, booking = await self.booking(request, now)
        booking = self.flow.changeable(booking, now, "change")
        choice = self.flow.read(request.query_params, self.flow.menu_of(booking))
        return await self.flow.change(
            request, f"/h/{signed}", booking, choice, now, csrf=self.csrf_fields(signed)
        )

    async def submit(self, request: Request) -> Response:
        now = self.pages.now()
        signed, booking, form = await self.form(request, now)
        booking = self.flow.changeable(booking, now, "change")
        choice = self.flow.read(form, self.flow.menu_of(booking))
        start, version = choice.start(self.ctx.calendar), version_of(form)
        if choice.step != "confirm" or start is None:
            raise message(400, "変更内容が正しくありません", "お手数ですが、もう一度リンクを開いてください。")

        def move(s: Session, found: Booking, actor: Actor) -> Result:
            cmd = fitting.FitMove(found.id or 0, start, staff=choice.staff, version=version)
            return fitting.move(s, self.ctx.ledger, cmd, actor, now)

        outcome = await self.act(signed, now, move)
        if outcome.result.status == Status.TAKEN:
            choice, taken = self.flow.taken(choice)
            csrf = self.csrf_fields(signed)
            return await self.flow.change(request, f"/h/{signed}", booking, choice, now, csrf=csrf, **taken)
        return self.flow.finished(request, outcome, "change", choice.menu)


class CancelLink(BookingLink):
    purpose = "cancel"

    async def show(self, request: Request) -> Response:
        now = self.pages.now()
        signed, booking = await self.booking(request, now)
        booking = self.flow.changeable(booking, now, "cancel")
        return self.flow.cancel_page(request, booking, self.csrf_fields(signed))

    async def submit(self, request: Request) -> Response:
        now = self.pages.now()
        signed, booking, form = await self.form(request, now)
        booking = self.flow.changeable(booking, now, "cancel")
        version = version_of(form)

        def cancel(s: Session, found: Booking, actor: Actor) -> Result:
            return fitting.cancel(
                s, self.ctx.ledger, fitting.FitCancel(found.id or 0, version=version), actor, now
            )

        outcome = await self.act(signed, now, cancel)
        menu = booking_views.menu_named(self.ctx.calendar, booking.menu)
        return self.flow.finished(request, outcome, "cancel", menu)


def routes(ctx: Context, pages: Pages) -> list[Route]:
    return [r for cls in (ConfirmLink, ChangeLink, CancelLink, ClaimLink) for r in cls(ctx, pages).routes()]
