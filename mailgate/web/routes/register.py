"""Registration, /r/: the link from the signup mail shows the form (name, kana, phone, PIN twice);
posting it makes the customer active and shows the personal (bookmark) link, also sent by mail."""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import customers
from mailgate.links import LinkError
from mailgate.models import CustomerStatus
from mailgate.web import forms, lookup
from mailgate.web.lookup import CustomerView
from mailgate.web.pages import Page, Pages, message
from mailgate.web.routes.link_page import OnePage


def already_registered() -> Page:
    return message(
        409,
        "すでに登録済みです",
        "このメールアドレスは、すでに会員登録が済んでいます。",
        "登録完了メールに記載のお客様専用ページ(ブックマーク)を開いてください。",
        "登録内容の変更や暗証番号を忘れた場合は、空メールを送ると変更用のリンクが届きます。",
        resend=True,
    )


def pending_only(view: CustomerView) -> None:
    if view.status == CustomerStatus.ACTIVE:
        raise already_registered()
    if view.status != CustomerStatus.PENDING:
        raise LinkError("revoked")


class Register(OnePage):
    purpose = "register"

    def form(
        self,
        request: Request,
        signed: str,
        view: CustomerView,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        return self.pages.render(
            request,
            "register.html.j2",
            status,
            email=view.email,
            values=values or {},
            errors=errors or {},
            **self.csrf_fields(signed),
        )

    async def show(self, request: Request) -> Response:
        signed, view = await self.opened(request)
        pending_only(view)
        return self.form(request, signed, view)

    async def submit(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, pending_only)
        details, errors = customers.read_details(form)
        pin, pin_errors = customers.read_new_pin(form)
        errors = {**errors, **pin_errors}
        if details is None or pin is None:
            return self.form(request, signed, view, 400, forms.typed_details(form), errors)
        url = await run_in_threadpool(self.commit, signed, view.id, details, pin, self.pages.now())
        if url is None:
            raise already_registered()
        return self.pages.render(request, "registered.html.j2", url=url, name=details.name)

    def commit(
        self, signed: str, customer_id: int, details: customers.Details, pin: str, now: datetime
    ) -> str | None:
        """The personal URL, or None if the customer registered meanwhile (by another link)."""
        with db.transaction(self.ctx.engine) as s:
            token = lookup.relookup(self.ctx, s, self.purpose, signed, now, customer_id)
            customer = lookup.locked_customer(s, customer_id)
            if customer.status == CustomerStatus.ACTIVE:
                return None
            if customer.status != CustomerStatus.PENDING:
                raise LinkError("revoked")
            return customers.register(s, self.ctx.ledger, token, details, pin, now).personal_url


def routes(ctx: Context, pages: Pages) -> list[Route]:
    return Register(ctx, pages).routes()
