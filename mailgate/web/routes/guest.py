"""/book: booking without registering. The same steps (menu, staff or anyone, day, a free time), then
name, reading, phone and email on the confirmation page; the booking is a tentative hold whose
confirm link is mailed at once and must be used within [booking] tentative_minutes, or the seat is
freed. Holds are limited per email, per client and in all (ledger/guest_holds.py)."""

from __future__ import annotations

import re
import unicodedata

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import booking_views, customers, guest_holds
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Status
from mailgate.mail.addresses import is_address_literal
from mailgate.models import Booking
from mailgate.shop.availability import Offer
from mailgate.web import acting, forms, questions
from mailgate.web.acting import Outcome
from mailgate.web.choosing import Choice
from mailgate.web.flow import Flow
from mailgate.web.pages import Pages, message

PATH = "/book"
_PURPOSE = "guest"  # what the CSRF token of the form is bound to, with the path
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
ACTOR = Actor("web:guest")


def read_email(form: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    text = unicodedata.normalize("NFKC", form.get("email", "")).strip()
    if not text:
        return None, {"email": "メールアドレスを入力してください。"}
    if len(text) > 254 or not _EMAIL.match(text) or is_address_literal(text):
        return None, {"email": "メールアドレスが正しくありません(例: hanako@docomo.ne.jp)。"}
    return text, {}


class GuestPages:
    def __init__(self, ctx: Context, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages
        self.flow = Flow(ctx, pages)

    def routes(self) -> list[Route]:
        return [self.pages.route(PATH, self.show, self.submit)]

    def _open(self) -> None:
        if not self.ctx.cfg.booking.guests:
            raise message(
                404, "ページが見つかりません", "会員登録のうえ、お客様専用ページからご予約ください。"
            )

    def csrf(self) -> dict[str, str]:
        return forms.csrf_fields(self.ctx.signer.secrets, _PURPOSE, PATH)

    async def show(self, request: Request) -> Response:
        self._open()
        return await self._choose(request, self.flow.read(request.query_params))

    async def _choose(
        self,
        request: Request,
        choice: Choice,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        **kw: object,
    ) -> Response:
        def confirm(offer: Offer) -> Response:
            return self.flow.confirm_page(
                request, choice, offer, action=PATH, base=PATH, csrf=self.csrf(), guest=True,
                button="仮予約する", values=values or {}, errors=errors or {}, status=400 if errors else 200,
            )  # fmt: skip

        return await self.flow.choose(
            request, PATH, choice, self.pages.now(), confirm=confirm, title="ご予約(会員登録なし)", **kw
        )

    async def submit(self, request: Request) -> Response:
        self._open()
        form = await forms.read_form(request)
        forms.check_csrf(self.ctx.signer.secrets, _PURPOSE, PATH, form)
        choice = self.flow.read(form)
        start = choice.start(self.ctx.calendar)
        if choice.step != "confirm" or start is None or choice.menu is None:
            raise message(400, "ご予約内容が正しくありません", "お手数ですが、最初からお選びください。")
        details, errors = customers.read_details(form)
        email, email_errors = read_email(form)
        replies, wrong = questions.read(choice.menu, form)
        if details is None or email is None or wrong:
            typed = {
                **forms.typed_details(form),
                "email": form.get("email", ""),
                **questions.typed(choice.menu, form),
            }
            return await self._choose(
                request, choice, values=typed, errors={**errors, **email_errors, **wrong}
            )
        now = self.pages.now()
        cmd = guest_holds.GuestBook(
            start=start,
            menu=choice.menu.name,
            staff=choice.staff,
            person=Person(details.name, details.name_kana, email, details.phone),
            client=acting.client_of(request),
            idempotency_key=acting.form_key(form, "guest"),
            addons=choice.addons,
            answers=replies,
        )

        def command(s: Session) -> Outcome:
            result = guest_holds.book(s, self.ctx.ledger, cmd, ACTOR, now)
            found = s.get(Booking, result.booking_id) if result.booking_id else None
            return Outcome(result, booking_views.with_addons(s, self.ctx.ledger, found) if found else None)

        outcome = await run_in_threadpool(acting.act, self.ctx, command)
        if outcome.result.status == Status.TAKEN:
            choice, taken = self.flow.taken(choice, outcome.result)
            return await self._choose(request, choice, **taken)
        return self.flow.finished(request, outcome, "book", choice.menu)


def routes(ctx: Context, pages: Pages) -> list[Route]:
    return GuestPages(ctx, pages).routes()
