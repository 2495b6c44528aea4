"""The pages of a booking, a change and a cancel, whoever opened them (the booking pages after the PIN,
a guest, a link from a mail): the steps to a free time, the confirmation page with the total, what
was done, and a refusal in the customer's words. GET only shows; the routes' POSTs act."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mailgate.context import Context
from mailgate.ledger import booking_views
from mailgate.ledger.booking_views import BookingView
from mailgate.ledger.results import Result
from mailgate.models import BookingStatus
from mailgate.shop.availability import Offer
from mailgate.shop.calendar import Menu
from mailgate.web import acting, choosing, questions, refusals
from mailgate.web.acting import Outcome
from mailgate.web.choosing import Choice, Chooser
from mailgate.web.pages import Page, Pages, message


class Flow:
    def __init__(self, ctx: Context, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages
        self.chooser = Chooser(ctx)

    def read(self, fields: Mapping[str, str], menu: Menu | None = None) -> Choice:
        return choosing.read(self.ctx.calendar, fields, menu)

    async def choose(
        self,
        request: Request,
        base: str,
        choice: Choice,
        now: datetime,
        *,
        confirm: Callable[[Offer], Response],
        but: int | None = None,
        notice: str = "",
        status: int = 200,
        wait_page: str = "",
        **extra: Any,
    ) -> Response:
        """The step `choice` is at; at the end, `confirm(offer)` while the time is still free.
        `wait_page`: a registered customer's waitlist page, which the day's full times link to."""
        if choice.step == "confirm":
            offer = await self.chooser.free(choice, now, but=but)
            if offer is not None:
                return confirm(offer)
            choice, notice, status = replace(choice, time=""), refusals.TAKEN, 409
        lists = await self.chooser.lists(base, choice, now, but=but, wait=wait_page)
        context = {
            "title": "ご予約",
            "current": None,
            "home": "",
            "earlier": "",
            "later": "",
            **extra,
            **lists,
        }
        return self.pages.render(request, "choose.html.j2", status, notice=notice, **context)

    def confirm_page(
        self,
        request: Request,
        choice: Choice,
        offer: Offer,
        *,
        action: str,
        base: str,
        csrf: dict[str, str],
        status: int = 200,
        total: int | None = None,
        **extra: Any,
    ) -> Response:
        """The chosen time with the total and a form that posts it (and a key: it books once).
        A new booking offers the menu's add-ons; a change (its `total` as booked) keeps its own."""
        cal = self.ctx.calendar
        assert choice.menu is not None
        fields = {
            **choosing.fields_of(cal, choice),
            acting.KEY_FIELD: acting.new_key(),
            **extra.pop("fields", {}),
        }
        context: dict[str, Any] = {
            "title": "ご予約内容の確認",
            "button": "予約する",
            "current": None,
            "home": "",
            "guest": False,
            "values": {},
            "errors": {},
            **extra,
        }
        return self.pages.render(
            request,
            "booking_confirm.html.j2",
            status,
            picked=choosing.summary(cal, choice, offer),
            options=choosing.addon_boxes(choice) if total is None else [],
            questions=questions.fields(choice.menu, context["values"]) if total is None else [],
            labels={**_LABELS, **questions.labels(choice.menu)},
            total=choosing.total(choice) if total is None else total,
            confirm=choice.menu.confirm,
            hold_minutes=self.ctx.cfg.booking.tentative_minutes,
            action=action,
            fields=fields,
            back=choosing.href(base, cal, replace(choice, time="")),
            **csrf,
            **context,
        )

    def taken(self, choice: Choice, result: Result | None = None) -> tuple[Choice, dict[str, Any]]:
        """The time (or an add-on ticked) was taken meanwhile: the free times of that day again,
        saying so."""
        notice = refusals.TAKEN
        if result is not None and result.code == "addon":
            notice = refusals.addon_gone(result.subject)
        return replace(choice, time="", addons=()), {"notice": notice, "status": 409}

    async def change(
        self,
        request: Request,
        base: str,
        booking: BookingView,
        choice: Choice,
        now: datetime,
        *,
        csrf: dict[str, str],
        home: str = "",
        **kw: Any,
    ) -> Response:
        """The steps to a new time for a booking (its own seat counts as free), then the confirmation
        with the booking as it was; the form carries the version shown (a change since: refused)."""

        def confirm(offer: Offer) -> Response:
            return self.confirm_page(
                request, choice, offer, action=base, base=base, csrf=csrf, home=home,
                title="変更内容の確認", button="この内容に変更する", current=booking.shown,
                total=booking.shown["price"],
                fields={"version": str(booking.version)},
            )  # fmt: skip

        return await self.choose(
            request, base, choice, now, confirm=confirm, but=booking.id, home=home, current=booking.shown,
            title="ご予約の変更", **kw,
        )  # fmt: skip

    def finished(
        self, request: Request, outcome: Outcome, what: str, menu: Menu | None, home: str = ""
    ) -> Response:
        if outcome.booking is None:
            raise refusals.refusal(self.ctx.cfg, outcome.result, what, menu)
        return self.done(request, what, outcome.booking, home)

    def done(self, request: Request, what: str, booking: BookingView, home: str = "") -> Response:
        title, lines = _done_words(what, booking)
        return self.pages.render(
            request, "booking_done.html.j2", title=title, lines=lines, booking=booking.shown, home=home
        )

    # --- a booking that exists: change and cancel pages ---------------------------------------------

    def changeable(self, booking: BookingView | None, now: datetime, what: str) -> BookingView:
        """The booking, or the page that says why it cannot be changed (cancelled) by the customer now."""
        if booking is None:
            raise message(404, "ご予約が見つかりません", "ご予約が見つかりません。")
        if not booking.live:
            raise message(410, refusals.TITLE[what], "このご予約はキャンセル済みか、取り消されています。")
        allowed = booking.can_change(now) if what == "change" else booking.can_cancel(now)
        if not allowed:
            rule = booking.change_rule if what == "change" else booking.cancel_rule
            cfg = self.ctx.cfg
            raise Page(
                403,
                "booking_link.html.j2",
                title=refusals.TITLE[what],
                booking=booking.shown,
                lines=[refusals.late_line(what, rule), refusals.call_us(cfg)],
                button="",
                home="",
            )
        return booking

    def menu_of(self, booking: BookingView) -> Menu:
        menu = booking_views.menu_named(self.ctx.calendar, booking.menu)
        if menu is None:
            raise message(
                409,
                "変更できません",
                "このご予約のメニューは変更を承れません。",
                refusals.call_us(self.ctx.cfg),
            )
        return menu

    def ask(
        self,
        request: Request,
        booking: BookingView,
        question: tuple[str, str, str],
        csrf: dict[str, str],
        fields: dict[str, str] | None = None,
        home: str = "",
    ) -> Response:
        """The booking and one button that posts the action; question: (title, line, button)."""
        title, line, button = question
        return self.pages.render(
            request,
            "booking_link.html.j2",
            title=title,
            booking=booking.shown,
            lines=[line],
            button=button,
            fields=fields or {},
            home=home,
            **csrf,
        )

    def cancel_page(
        self, request: Request, booking: BookingView, csrf: dict[str, str], home: str = ""
    ) -> Response:
        question = ("キャンセルの確認", "このご予約をキャンセルしますか。", "キャンセルする")
        return self.ask(request, booking, question, csrf, {"version": str(booking.version)}, home)


_LABELS = {"name": "お名前", "name_kana": "フリガナ", "phone": "電話番号", "email": "メールアドレス"}


def version_of(form: dict[str, str]) -> int:
    value = form.get("version", "")
    if not value.isascii() or not value.isdigit():
        raise message(400, "ページが古くなっています", "もう一度ページを開いてください。")
    return int(value)


def _done_words(what: str, booking: BookingView) -> tuple[str, list[str]]:
    mailed = "確認メールをお送りしました。"
    if what == "change":
        return "ご予約を変更しました", [
            f"次の内容に変更しました。{mailed}",
            "前のメールの変更・キャンセル用リンクは使えなくなります。",
        ]
    if what == "cancel":
        return "キャンセルしました", [f"次のご予約をキャンセルしました。{mailed}"]
    if what == "confirm":
        return "ご予約が確定しました", [f"次の内容でご予約が確定しました。{mailed}"]
    if booking.state == BookingStatus.TENTATIVE:
        expires = booking.shown.get("expires", "")
        return "仮予約を受け付けました", [
            "まだ確定していません。お送りしたメールのリンクを開いて、予約を確定してください。",
            f"{expires}までに確定しないと、仮予約は取り消されます。",
        ]
    if booking.state == BookingStatus.APPLICATION:
        return "仮申込を受け付けました", ["お店からのご連絡で確定します。", mailed]
    return "ご予約を承りました", [f"ご予約ありがとうございます。{mailed}"]
