"""What the pages of every signed link share: the link and its customer looked up off the event loop,
a posted form checked (size, link, customer, CSRF) before anything reads it, GET shows and POST acts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mailgate.context import Context
from mailgate.links import PREFIX
from mailgate.web import forms, lookup
from mailgate.web.lookup import CustomerView
from mailgate.web.pages import Handler, Pages


class LinkPage(ABC):
    """Base of one link purpose's pages: subclasses set `purpose` and say which routes they serve."""

    purpose: str

    def __init__(self, ctx: Context, pages: Pages) -> None:
        self.ctx = ctx
        self.pages = pages

    @property
    def prefix(self) -> str:
        return f"/{PREFIX[self.purpose]}/{{signed}}"

    @abstractmethod
    def routes(self) -> list[Route]: ...

    def route(self, path: str, show: Handler, submit: Handler) -> Route:
        return self.pages.route(path, show, submit)

    async def opened(self, request: Request, now: datetime | None = None) -> tuple[str, CustomerView]:
        """The signed part of the link and its customer, or LinkError."""
        signed = request.path_params["signed"]
        now = now or self.pages.now()
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


class OnePage(LinkPage):
    """A link purpose with one page: GET shows it (show), POST acts (submit)."""

    @abstractmethod
    async def show(self, request: Request) -> Response: ...

    @abstractmethod
    async def submit(self, request: Request) -> Response: ...

    def routes(self) -> list[Route]:
        return [self.route(self.prefix, self.show, self.submit)]
