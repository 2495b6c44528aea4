"""The link pages: registration, the personal (bookmark) page, settings. Feature-phone friendly.

GET only shows a page (mail scanners open links); only POST changes anything, in one transaction that
looks the link up again. Forms carry a cookie-less CSRF token. Pages are plain HTML without script.
This module only assembles the app: pages.py renders, forms.py reads forms, routes/ has the pages.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp

from mailgate.context import Context
from mailgate.web.headers import SecurityHeaders
from mailgate.web.pages import Clock, Pages
from mailgate.web.routes import basics, booking, booking_links, guest, login, register, settings


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so that even the last-resort 500 page carries the security headers.
        return SecurityHeaders(super().build_middleware_stack())


def create_app(ctx: Context, clock: Clock | None = None) -> Starlette:
    """clock: the time the pages act at (tests set it; the real time otherwise)."""
    pages = Pages.of(ctx, clock)
    routes = [
        *basics.routes(ctx, pages),
        *register.routes(ctx, pages),
        *login.routes(ctx, pages, login.PinLocks()),
        *settings.routes(ctx, pages),
        *booking.routes(ctx, pages),
        *booking_links.routes(ctx, pages),
        *guest.routes(ctx, pages),
    ]
    return _App(
        routes=routes,
        exception_handlers={404: pages.not_found, 405: pages.not_found, Exception: pages.unexpected},
    )
