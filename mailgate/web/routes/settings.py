"""Settings, /s/: a one-time link (mailed on a blank mail, or shown after the right PIN) to change the
details or the PIN, or to unsubscribe."""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import customers
from mailgate.ledger import erasure as ledger_erasure
from mailgate.ledger.erasure import Erased
from mailgate.links import LinkError
from mailgate.models import CustomerStatus
from mailgate.pipeline import erasure
from mailgate.web import forms, lookup
from mailgate.web.lookup import CustomerView
from mailgate.web.pages import Pages
from mailgate.web.routes.link_page import OnePage


class Settings(OnePage):
    purpose = "settings"

    def form(
        self,
        request: Request,
        signed: str,
        view: CustomerView,
        status: int = 200,
        op: str = "",
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        details = {"name": view.name, "name_kana": view.name_kana, "phone": view.phone}
        if op == "details" and values is not None:
            details = values
        return self.pages.render(
            request,
            "settings.html.j2",
            status,
            op=op,
            values=details,
            errors=errors or {},
            name=view.name,
            **self.csrf_fields(signed),
        )

    async def show(self, request: Request) -> Response:
        signed, view = await self.opened(request)
        lookup.active_only(view)
        return self.form(request, signed, view)

    async def submit(self, request: Request) -> Response:
        signed, view, form = await self.posted(request, lookup.active_only)
        op = form.get("op", "")
        details: customers.Details | None = None
        pin: str | None = None
        if op == "details":
            details, errors = customers.read_details(form)
            if details is None:
                return self.form(request, signed, view, 400, op, forms.typed_details(form), errors)
        elif op == "pin":
            pin, errors = customers.read_new_pin(form)
            if pin is None:
                return self.form(request, signed, view, 400, op, errors=errors)
        elif op == "bookmark":
            pass
        elif op == "delete":
            if form.get("confirm") != "yes":
                errors = {"confirm": "退会する場合は、確認のチェックを入れてください。"}
                return self.form(request, signed, view, 400, op, errors=errors)
        else:
            return self.form(request, signed, view, 400, "", errors={"op": "操作を選んでください。"})
        done = await run_in_threadpool(self.commit, signed, view.id, op, details, pin, self.pages.now())
        if isinstance(done, Erased):  # the page says the data was deleted: so it must be, files too
            await run_in_threadpool(erasure.finish, self.ctx, done)
        url = done if isinstance(done, str) else None
        return self.pages.render(request, "settings_done.html.j2", op=op, url=url)

    def commit(
        self,
        signed: str,
        customer_id: int,
        op: str,
        details: customers.Details | None,
        pin: str | None,
        now: datetime,
    ) -> str | Erased | None:
        """New details, a new PIN, a new bookmark or unsubscribe; the link is used (and the customer's
        other settings links revoked) in the same transaction. Returns a new bookmark's URL, or what
        the erase left for `erasure.finish`."""
        with db.transaction(self.ctx.engine) as s:
            token = lookup.relookup(self.ctx, s, self.purpose, signed, now, customer_id)
            customer = lookup.locked_customer(s, customer_id)
            if customer.status != CustomerStatus.ACTIVE:
                raise LinkError("revoked")
            customers.use_settings_link(s, token, now)
            actor, env = f"link:settings:{token.id}", self.ctx.ledger
            if details is not None:
                customers.update_details(s, env, customer, details, actor, token.id, now)
            elif pin is not None:
                return self.ctx.signer.url(*customers.change_pin(s, env, customer, pin, actor, token.id, now))
            elif op == "bookmark":
                return self.ctx.signer.url(*customers.new_bookmark(s, env, customer, actor, token.id, now))
            else:
                return ledger_erasure.erase(s, customer, now, actor, token.id)
            return None


def routes(ctx: Context, pages: Pages) -> list[Route]:
    return Settings(ctx, pages).routes()
