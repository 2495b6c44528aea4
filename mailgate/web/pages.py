"""Rendering the link pages, and every page that is not the happy path: link errors, 404/405, 500.

A route either returns a page or raises: LinkError (the link is no good), Page (show this page instead),
or anything else (logged with the link path masked, shown as the 500 page).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mailgate.config import ShopSection
from mailgate.context import Context
from mailgate.links import PREFIX, LinkError

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
Clock = Callable[[], datetime]

LINK_STATUS = {
    "tampered": 404,
    "expired": 410,
    "used": 410,
    "revoked": 410,
    "wrong_state": 409,
    "changed": 410,
    "ended": 410,
}
# kind -> (title, line) of the page shown for a link that cannot be used.
_LINK_ERRORS = {
    "tampered": (
        "リンクが正しくありません",
        "このリンクは正しくありません。URLが途中で切れていないか確認してください。",
    ),
    "expired": ("リンクの有効期限が切れています", "このリンクは有効期限が切れています。"),
    "used": ("このリンクは使用済みです", "このリンクはすでに使われています(1回限り有効です)。"),
    "revoked": ("このリンクは無効です", "このリンクは無効になりました。"),
    "wrong_state": ("このリンクは使えません", "このリンクは現在ご利用いただけません。"),
    "changed": (
        "このリンクは使えません",
        "ご予約が変更されたため、このリンクは使えなくなりました。最新のメールのリンクをお使いください。",
    ),
    "ended": (
        "このご予約は取り消されています",
        "このご予約はキャンセル済みか、確定の期限が過ぎて取り消されています。",
    ),
}
_REOPEN = "お客様専用ページ(ブックマーク)を開き直して、暗証番号を入力してください。"
_BOOKING_PREFIXES = frozenset(PREFIX[p] for p in ("confirm", "change", "cancel"))
_OTHER_LINK_ERROR = ("このリンクは使えません", "このリンクは使えません。")
# When even the template cannot be rendered.
_BARE_500 = (
    '<!DOCTYPE html><meta charset="utf-8"><title>エラー</title>'
    "<p>エラーが発生しました。時間をおいて、もう一度お試しください。</p>"
)


class Page(Exception):
    """Stop handling and show this page."""

    def __init__(self, status: int, template: str, **context: Any) -> None:
        super().__init__(template)
        self.status = status
        self.template = template
        self.context = context


def _utc_now() -> datetime:
    return datetime.now(UTC)


def message(status: int, title: str, *lines: str, **context: Any) -> Page:
    """The plain message page: a title and a few lines."""
    return Page(status, "message.html.j2", title=title, lines=list(lines), **context)


def masked_path(request: Request) -> str:
    """The request path for logs: links are secrets, so only their prefix."""
    parts = request.url.path.split("/")
    if len(parts) > 2 and parts[1] in PREFIX.values():
        return f"/{parts[1]}/…"
    return request.url.path


class Pages:
    """Renders templates with what every page shows (the shop, the signup address), and turns errors
    into pages."""

    def __init__(
        self, env: jinja2.Environment, shop: ShopSection, signup: str, clock: Clock | None = None
    ) -> None:
        self.env = env
        self.shop = shop
        self.signup = signup
        self.clock = clock or _utc_now

    @classmethod
    def of(cls, ctx: Context, clock: Clock | None = None) -> Pages:
        return cls(ctx.web_env, ctx.cfg.shop, ctx.cfg.mail.signup, clock)

    def now(self) -> datetime:
        """The time the pages act at: the real time, or a test's clock."""
        return self.clock()

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            shop=self.shop, signup=self.signup, path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=status)

    def show(self, request: Request, page: Page) -> HTMLResponse:
        return self.render(request, page.template, page.status, **page.context)

    def link_error(self, request: Request, kind: str) -> Response:
        title, line = _LINK_ERRORS.get(kind, _OTHER_LINK_ERROR)
        status = LINK_STATUS.get(kind, 404)
        prefix = request.url.path.split("/")[1]
        if prefix == PREFIX["session"]:  # the booking pages: the bookmark opens new ones
            return self.show(request, message(status, title, line, _REOPEN))
        if prefix in _BOOKING_PREFIXES:  # a blank mail brings no booking link: the newest mail has them
            phone = [f"お電話でも承ります: {self.shop.phone}"] if self.shop.phone else []
            return self.show(request, message(status, title, line, *phone))
        return self.show(request, message(status, title, line, resend=True))

    def server_error(self, request: Request) -> Response:
        try:
            sorry = "申し訳ありません。時間をおいて、もう一度お試しください。"
            return self.show(request, message(500, "エラーが発生しました", sorry))
        except Exception:
            log.exception("could not render the error page")
            return HTMLResponse(_BARE_500, 500)

    def route(self, path: str, show: Handler, submit: Handler) -> Route:
        """GET shows (mail scanners open links), POST acts. One route for both, so that a 405 names
        both in its Allow header (two routes would each answer for their own method only)."""
        shows, submits = self.page(show), self.page(submit)

        async def either(request: Request) -> Response:
            return await (submits if request.method == "POST" else shows)(request)

        return Route(path, either, methods=["GET", "POST"])

    def page(self, fn: Handler) -> Handler:
        """A route handler whose LinkError, Page and unexpected errors become pages."""

        @functools.wraps(fn)
        async def wrapper(request: Request) -> Response:
            try:
                return await fn(request)
            except LinkError as e:
                return self.link_error(request, e.kind)
            except Page as p:
                return self.show(request, p)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, masked_path(request))
                return self.server_error(request)

        return wrapper

    # --- exception handlers of the app, for what happens outside a route ---

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """404, and 405 for a method the path does not take."""
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            r = self.show(
                request,
                message(405, "このページは開けません", "この操作はできません。リンクを開き直してください。"),
            )
            if isinstance(exc, HTTPException) and exc.headers and "Allow" in exc.headers:
                r.headers["Allow"] = exc.headers["Allow"]
            return r
        line = "お探しのページは見つかりませんでした。URLをご確認ください。"
        return self.show(request, message(404, "ページが見つかりません", line))

    async def unexpected(self, request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, masked_path(request), exc_info=exc)
        return self.server_error(request)
