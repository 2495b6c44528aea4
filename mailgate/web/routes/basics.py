"""The pages that need no link: the front page, the stylesheet, the health check, the favicon. (The
guests' booking page, /book, needs no link either: routes/guest.py.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mailgate.context import Context
from mailgate.web.pages import Pages


class Basics:
    def __init__(self, pages: Pages, stylesheet: str, guests: bool) -> None:
        self.pages = pages
        self.stylesheet = stylesheet
        self.guests = guests

    async def index(self, request: Request) -> Response:
        return self.pages.render(request, "index.html.j2", guests=self.guests)

    async def style(self, request: Request) -> Response:
        return Response(self.stylesheet, media_type="text/css; charset=utf-8")

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def favicon(self, request: Request) -> Response:
        # Browsers ask for it on every page; no icon, and no 404 noise in the logs.
        return Response(status_code=204)


def routes(ctx: Context, pages: Pages) -> list[Route]:
    stylesheet = (ctx.cfg.templates_dir / "web" / "style.css").read_text(encoding="utf-8")
    basics = Basics(pages, stylesheet, ctx.cfg.booking.guests)
    return [
        Route("/", pages.page(basics.index), methods=["GET"]),
        Route("/style.css", basics.style, methods=["GET"]),
        Route("/healthz", basics.healthz, methods=["GET"]),
        Route("/favicon.ico", basics.favicon, methods=["GET"]),
    ]
