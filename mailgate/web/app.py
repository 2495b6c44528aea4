"""The link pages: registration, the personal (bookmark) page, settings. Feature-phone friendly.

GET only shows a page (mail scanners open links); only POST changes anything, in one transaction that
looks the link up again. Forms carry a cookie-less CSRF token. Pages are plain HTML without script.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from mailgate import db, normalize, tokens
from mailgate.context import Context
from mailgate.ledger import customers
from mailgate.links import PREFIX, LinkError
from mailgate.models import Customer, CustomerStatus, Token
from mailgate.web import csrf
from mailgate.web.headers import SecurityHeaders

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
LINK_STATUS = {"tampered": 404, "expired": 410, "used": 410, "revoked": 410, "wrong_state": 409}
_SJIS = {
    "shift_jis",
    "shift-jis",
    "sjis",
    "x-sjis",
    "s-jis",
    "windows-31j",
    "cp932",
    "ms_kanji",
    "csshiftjis",
}
_UTF8 = {"utf-8", "utf8"}
# PIN checks of one customer run one at a time in this process, so parallel guesses cannot slip past the
# failure counter (SQLite has no SELECT ... FOR UPDATE; on PostgreSQL the row lock does the same).
_PIN_LOCKS = tuple(threading.Lock() for _ in range(64))


class Page(Exception):
    """Stop handling and show this page."""

    def __init__(self, status: int, template: str, **context: Any) -> None:
        super().__init__(template)
        self.status = status
        self.template = template
        self.context = context


@dataclass(frozen=True)
class CustomerView:
    """What a page shows of a customer, copied out of the session."""

    id: int
    email: str
    status: str
    name: str
    name_kana: str
    phone: str
    locked_until: datetime | None

    @classmethod
    def of(cls, c: Customer) -> CustomerView:
        assert c.id is not None
        return cls(c.id, c.email, c.status, c.name, c.name_kana, c.phone, tokens.aware(c.locked_until))


# --- form bodies -------------------------------------------------------------------------------------


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    if label in _UTF8:
        return "utf-8"
    if label in _SJIS:
        return "cp932"
    return None


def decode_form(body: bytes, content_type: str = "") -> dict[str, str]:
    """An application/x-www-form-urlencoded body as text. UTF-8 unless the browser said (`_charset_`,
    Content-Type) or the bytes show (not valid UTF-8) that it posted Shift_JIS, as feature phones do."""
    # Some old browsers post raw 8-bit bytes: percent-encode them so parse_qsl sees one encoding.
    ascii_body = re.sub(rb"[\x80-\xff]", lambda m: b"%%%02X" % m.group()[0], body).decode("ascii")
    raw_pairs = parse_qsl(ascii_body, keep_blank_values=True, encoding="latin-1")
    hints = [v for k, v in raw_pairs if k == "_charset_"]
    m = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
    if m:
        hints.append(m.group(1))
    order = [c for c in (_codec(h) for h in hints) if c] + ["utf-8"]
    for codec in dict.fromkeys(order):
        try:
            pairs = parse_qsl(ascii_body, keep_blank_values=True, encoding=codec, errors="strict")
            break
        except UnicodeDecodeError:
            continue
    else:
        pairs = parse_qsl(ascii_body, keep_blank_values=True, encoding="cp932", errors="replace")
    return {k: v for k, v in pairs if k != "_charset_"}


async def read_form(request: Request) -> dict[str, str]:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise Page(
            413,
            "message.html.j2",
            title="送信内容が大きすぎます",
            lines=["入力内容を短くして、もう一度お試しください。"],
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Page(
                413,
                "message.html.j2",
                title="送信内容が大きすぎます",
                lines=["入力内容を短くして、もう一度お試しください。"],
            )
    return decode_form(bytes(body), request.headers.get("content-type", ""))


# --- the app -----------------------------------------------------------------------------------------


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so that even the last-resort 500 page carries the security headers.
        return SecurityHeaders(super().build_middleware_stack())


def create_app(ctx: Context) -> Starlette:
    cfg = ctx.cfg
    env = ctx.web_env
    style = (cfg.templates_dir / "web" / "style.css").read_text(encoding="utf-8")

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(
            shop=cfg.shop, signup=cfg.mail.signup, path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=status)

    def masked_path(request: Request) -> str:
        # Links are secrets: logs get the prefix only.
        parts = request.url.path.split("/")
        if len(parts) > 2 and parts[1] in PREFIX.values():
            return f"/{parts[1]}/…"
        return request.url.path

    def server_error(request: Request) -> Response:
        try:
            return render(
                request,
                "message.html.j2",
                500,
                title="エラーが発生しました",
                lines=["申し訳ありません。時間をおいて、もう一度お試しください。"],
            )
        except Exception:
            log.exception("could not render the error page")
            return HTMLResponse(
                '<!DOCTYPE html><meta charset="utf-8"><title>エラー</title>'
                "<p>エラーが発生しました。時間をおいて、もう一度お試しください。</p>",
                500,
            )

    def link_error(request: Request, kind: str) -> Response:
        what = {
            "tampered": (
                "リンクが正しくありません",
                "このリンクは正しくありません。URLが途中で切れていないか確認してください。",
            ),
            "expired": ("リンクの有効期限が切れています", "このリンクは有効期限が切れています。"),
            "used": ("このリンクは使用済みです", "このリンクはすでに使われています(1回限り有効です)。"),
            "revoked": ("このリンクは無効です", "このリンクは無効になりました。"),
            "wrong_state": ("このリンクは使えません", "このリンクは現在ご利用いただけません。"),
        }.get(kind, ("このリンクは使えません", "このリンクは使えません。"))
        return render(
            request,
            "message.html.j2",
            LINK_STATUS.get(kind, 404),
            title=what[0],
            lines=[what[1]],
            resend=True,
        )

    Handler = Callable[[Request], Awaitable[Response]]

    def page(fn: Handler) -> Handler:
        @functools.wraps(fn)
        async def wrapper(request: Request) -> Response:
            try:
                return await fn(request)
            except LinkError as e:
                return link_error(request, e.kind)
            except Page as p:
                return render(request, p.template, p.status, **p.context)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, masked_path(request))
                return server_error(request)

        return wrapper

    def check_csrf(purpose: str, signed: str, form: dict[str, str]) -> None:
        if not csrf.verify(ctx.signer.secrets, purpose, signed, form.get(csrf.FIELD)):
            raise Page(
                403,
                "message.html.j2",
                title="ページの有効期限が切れました",
                lines=["ページの有効期限が切れました。もう一度リンクを開いてください。"],
                again=True,
            )

    def new_csrf(purpose: str, signed: str) -> str:
        return csrf.make(ctx.signer.secrets, purpose, signed)

    def load(purpose: str, signed: str, now: datetime) -> tuple[int, CustomerView]:
        """The live link's token id and its customer (read only), or LinkError."""
        with db.transaction(ctx.engine) as s:
            token = tokens.lookup(s, ctx.signer, purpose, signed, now)
            customer = s.get(Customer, token.customer_id)
            if customer is None:
                raise LinkError("tampered")
            assert token.id is not None
            return token.id, CustomerView.of(customer)

    def locked_customer(s: Session, customer_id: int) -> Customer:
        c = s.exec(select(Customer).where(Customer.id == customer_id).with_for_update()).one()
        return c

    def relookup(s: Session, purpose: str, signed: str, now: datetime, customer_id: int) -> Token:
        token = tokens.lookup(s, ctx.signer, purpose, signed, now, lock=True)
        if token.customer_id != customer_id:  # cannot happen: the signed id names the token
            raise LinkError("tampered")
        return token

    def already_registered() -> Page:
        return Page(
            409,
            "message.html.j2",
            title="すでに登録済みです",
            lines=[
                "このメールアドレスは、すでに会員登録が済んでいます。",
                "登録完了メールに記載のお客様専用ページ(ブックマーク)を開いてください。",
                "登録内容の変更や暗証番号を忘れた場合は、空メールを送ると変更用のリンクが届きます。",
            ],
            resend=True,
        )

    def active_only(view: CustomerView) -> None:
        if view.status != CustomerStatus.ACTIVE:
            raise LinkError("revoked")

    def local_time(when: datetime) -> str:
        return when.astimezone(cfg.tz).strftime("%H:%M")

    # --- simple pages ---

    @page
    async def index(request: Request) -> Response:
        return render(request, "index.html.j2")

    async def stylesheet(request: Request) -> Response:
        return Response(style, media_type="text/css; charset=utf-8")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def favicon(request: Request) -> Response:
        # Browsers ask for it on every page; no icon, and no 404 noise in the logs.
        return Response(status_code=204)

    # --- registration: /r/ ---

    def register_form(
        request: Request,
        signed: str,
        view: CustomerView,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Response:
        return render(
            request,
            "register.html.j2",
            status,
            email=view.email,
            values=values or {},
            errors=errors or {},
            csrf_field=csrf.FIELD,
            csrf=new_csrf("register", signed),
        )

    @page
    async def register_get(request: Request) -> Response:
        signed = request.path_params["signed"]
        _, view = await run_in_threadpool(load, "register", signed, datetime.now(UTC))
        if view.status == CustomerStatus.ACTIVE:
            raise already_registered()
        if view.status != CustomerStatus.PENDING:
            raise LinkError("revoked")
        return register_form(request, signed, view)

    @page
    async def register_post(request: Request) -> Response:
        signed = request.path_params["signed"]
        form = await read_form(request)
        _, view = await run_in_threadpool(load, "register", signed, datetime.now(UTC))
        if view.status == CustomerStatus.ACTIVE:
            raise already_registered()
        if view.status != CustomerStatus.PENDING:
            raise LinkError("revoked")
        check_csrf("register", signed, form)
        details, errors = customers.read_details(form)
        pin, pin_errors = customers.read_new_pin(form)
        errors = {**errors, **pin_errors}
        if details is None or pin is None:
            values = {k: form.get(k, "") for k in ("name", "name_kana", "phone")}
            return register_form(request, signed, view, 400, values, errors)

        def commit(now: datetime) -> str | None:
            with db.transaction(ctx.engine) as s:
                token = relookup(s, "register", signed, now, view.id)
                customer = locked_customer(s, view.id)
                if customer.status == CustomerStatus.ACTIVE:
                    return None
                if customer.status != CustomerStatus.PENDING:
                    raise LinkError("revoked")
                return customers.register(s, ctx, token, details, pin, now).personal_url

        url = await run_in_threadpool(commit, datetime.now(UTC))
        if url is None:
            raise already_registered()
        return render(request, "registered.html.j2", url=url, name=details.name)

    # --- the personal page: /m/ ---

    def locked_page(view_until: datetime | None) -> Page:
        return Page(
            423,
            "locked.html.j2",
            minutes=cfg.links.lock_minutes,
            until=local_time(view_until) if view_until else "",
        )

    def login_form(
        request: Request, signed: str, status: int = 200, error: str = "", remaining: int | None = None
    ) -> Response:
        return render(
            request,
            "login.html.j2",
            status,
            error=error,
            remaining=remaining,
            minutes=cfg.links.lock_minutes,
            csrf_field=csrf.FIELD,
            csrf=new_csrf("login", signed),
        )

    @page
    async def login_get(request: Request) -> Response:
        signed = request.path_params["signed"]
        now = datetime.now(UTC)
        _, view = await run_in_threadpool(load, "login", signed, now)
        active_only(view)
        if view.locked_until is not None and view.locked_until > now:
            raise locked_page(view.locked_until)
        return login_form(request, signed)

    @page
    async def login_post(request: Request) -> Response:
        signed = request.path_params["signed"]
        form = await read_form(request)
        _, view = await run_in_threadpool(load, "login", signed, datetime.now(UTC))
        active_only(view)
        check_csrf("login", signed, form)
        try:
            pin = normalize.pin(form.get("pin", ""))
        except normalize.NormalizeError as e:
            return login_form(request, signed, 400, error=str(e))

        def attempt(now: datetime) -> tuple[str, Any]:
            with _PIN_LOCKS[view.id % len(_PIN_LOCKS)], db.transaction(ctx.engine) as s:
                token = relookup(s, "login", signed, now, view.id)
                customer = locked_customer(s, view.id)
                if customer.status != CustomerStatus.ACTIVE:
                    raise LinkError("revoked")
                if customers.is_locked(customer, now):
                    return "locked", tokens.aware(customer.locked_until)
                if not customers.try_pin(s, ctx, customer, token, pin, now):
                    if customers.is_locked(customer, now):
                        return "locked", tokens.aware(customer.locked_until)
                    return "wrong", max(0, cfg.links.pin_attempts - customer.pin_failures)
                return "ok", (CustomerView.of(customer), customers.open_settings(s, ctx, customer, now))

        outcome, data = await run_in_threadpool(attempt, datetime.now(UTC))
        if outcome == "locked":
            raise locked_page(data)
        if outcome == "wrong":
            return login_form(request, signed, 401, error="暗証番号が違います。", remaining=data)
        me, settings_url = data
        return render(
            request,
            "mypage.html.j2",
            name=me.name,
            name_kana=me.name_kana,
            phone=normalize.mask_phone(me.phone),
            settings_url=settings_url,
            settings_hours=_hours(cfg.links.settings_hours),
        )

    # --- settings: /s/ ---

    def settings_page(
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
        return render(
            request,
            "settings.html.j2",
            status,
            op=op,
            values=details,
            errors=errors or {},
            csrf_field=csrf.FIELD,
            csrf=new_csrf("settings", signed),
            name=view.name,
        )

    @page
    async def settings_get(request: Request) -> Response:
        signed = request.path_params["signed"]
        _, view = await run_in_threadpool(load, "settings", signed, datetime.now(UTC))
        active_only(view)
        return settings_page(request, signed, view)

    @page
    async def settings_post(request: Request) -> Response:
        signed = request.path_params["signed"]
        form = await read_form(request)
        _, view = await run_in_threadpool(load, "settings", signed, datetime.now(UTC))
        active_only(view)
        check_csrf("settings", signed, form)
        op = form.get("op", "")
        details: customers.Details | None = None
        pin: str | None = None
        if op == "details":
            details, errors = customers.read_details(form)
            if details is None:
                values = {k: form.get(k, "") for k in ("name", "name_kana", "phone")}
                return settings_page(request, signed, view, 400, op, values, errors)
        elif op == "pin":
            pin, errors = customers.read_new_pin(form)
            if pin is None:
                return settings_page(request, signed, view, 400, op, errors=errors)
        elif op == "delete":
            if form.get("confirm") != "yes":
                return settings_page(
                    request,
                    signed,
                    view,
                    400,
                    op,
                    errors={"confirm": "退会する場合は、確認のチェックを入れてください。"},
                )
        else:
            return settings_page(request, signed, view, 400, "", errors={"op": "操作を選んでください。"})

        def commit(now: datetime) -> None:
            with db.transaction(ctx.engine) as s:
                token = relookup(s, "settings", signed, now, view.id)
                customer = locked_customer(s, view.id)
                if customer.status != CustomerStatus.ACTIVE:
                    raise LinkError("revoked")
                tokens.use(s, token, now)
                actor = f"link:settings:{token.id}"
                if details is not None:
                    customers.update_details(s, customer, details, actor, token.id)
                elif pin is not None:
                    customers.change_pin(s, ctx, customer, pin, actor, token.id, now)
                else:
                    customers.delete(s, customer, now, actor, token.id)

        await run_in_threadpool(commit, datetime.now(UTC))
        return render(request, "settings_done.html.j2", op=op)

    # --- errors outside the routes ---

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            r = render(
                request,
                "message.html.j2",
                405,
                title="このページは開けません",
                lines=["この操作はできません。リンクを開き直してください。"],
            )
            if isinstance(exc, HTTPException) and exc.headers and "Allow" in exc.headers:
                r.headers["Allow"] = exc.headers["Allow"]
            return r
        return render(
            request,
            "message.html.j2",
            404,
            title="ページが見つかりません",
            lines=["お探しのページは見つかりませんでした。URLをご確認ください。"],
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, masked_path(request), exc_info=exc)
        return server_error(request)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/style.css", stylesheet, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route(f"/{PREFIX['register']}/{{signed}}", register_get, methods=["GET"]),
        Route(f"/{PREFIX['register']}/{{signed}}", register_post, methods=["POST"]),
        Route(f"/{PREFIX['login']}/{{signed}}", login_get, methods=["GET"]),
        Route(f"/{PREFIX['login']}/{{signed}}", login_post, methods=["POST"]),
        Route(f"/{PREFIX['settings']}/{{signed}}", settings_get, methods=["GET"]),
        Route(f"/{PREFIX['settings']}/{{signed}}", settings_post, methods=["POST"]),
    ]
    return _App(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found, Exception: unexpected},
    )


def _hours(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
