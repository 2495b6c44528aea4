"""What the pages of every signed link share: the link and its customer looked up off the event loop,
a posted form checked (size, link, customer, CSRF) before anything reads it, GET shows and POST acts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate.context import Context
from mailgate.links import PREFIX
from mailgate.web import forms, lookup
from mailgate.web.lookup import CustomerView
from mailgate.web.pages import Pages


class LinkPage:
    """Base of one link purpose's pages: subclasses set `purpose` and write show (GET) and submit (POST)."""

    purpose: str

    def __init__(self, ctx: Context, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages

    async def show(self, request: Request) -> Response:
        raise NotImplementedError

    async def submit(self, request: Request) -> Response:
        raise NotImplementedError

    def routes(self) -> list[Route]:
        # GET only shows (mail scanners open links), POST acts. One route for both, so that a 405
        # names both in its Allow header (two routes would each answer for their own method only).
        path = f"/{PREFIX[self.purpose]}/{{signed}}"
        show, submit = self.pages.page(self.show), self.pages.page(self.submit)

        async def either(request: Request) -> Response:
            return await (submit if request.method == "POST" else show)(request)

        return [Route(path, either, methods=["GET", "POST"])]

    async def opened(self, request: Request, now: datetime | None = None) -> tuple[str, CustomerView]:
        """The signed part of the link and its customer, or LinkError."""
        signed = request.path_params["signed"]
        now = now or datetime.now(UTC)
        return signed, await run_in_threadpool(lookup.load, self.ctx, self.purpose, signed, now)

    async def posted(
        self, request: Request, check: Callable[[CustomerView], None]
    ) -> tuple[str, CustomerView, dict[str, str]]:
        """The signed part, its customer (who passed `check`) and the posted form with a valid CSRF token."""
        form = await forms.read_form(request)
        signed, view = await self.opened(request)
        check(view)
        forms.check_csrf(self.ctx.signer.secrets, self.purpose, signed, form)
        return signed, view, form

    def csrf_fields(self, signed: str) -> dict[str, str]:
        return forms.csrf_fields(self.ctx.signer.secrets, self.purpose, signed)
