"""A ledger command's refusal in the customer's words, from the Result's code: too late (the deadline
in words and the shop's phone), too far ahead, a limit, a guest limit, an old link ... A time taken
meanwhile (「ちょうど埋まりました」) is not here: the page shows the free times again instead."""

from __future__ import annotations

from mailgate import deadlines
from mailgate.config import Config
from mailgate.ledger.results import Result, Status
from mailgate.shop.calendar import Menu
from mailgate.web.pages import Page, message

TAKEN = "ちょうど埋まりました。申し訳ありません。ほかの時間をお選びください。"
_WHAT = {"book": "ご予約", "change": "ご予約の変更", "cancel": "キャンセル", "confirm": "ご予約の確定"}
TITLE = {
    "book": "ご予約できませんでした",
    "change": "変更できませんでした",
    "cancel": "キャンセルできませんでした",
    "confirm": "確定できませんでした",
}
_STATUS = {"late": 403, "too_far": 400, "limit": 429, "changed": 409, "cancelled": 410, "expired": 410}


def call_us(cfg: Config) -> str:
    phone = cfg.shop.phone
    return (
        f"お手数ですが、お電話でご連絡ください: {phone}"
        if phone
        else "お手数ですが、お店に直接ご連絡ください。"
    )


def addon_gone(name: str) -> str:
    return (
        f"ご希望のオプション({name})は、ちょうど品切れになりました。"
        "申し訳ありません。ほかの時間か、オプションなしでお選びください。"
    )


def late_line(what: str, rule: str) -> str:
    return f"{_WHAT[what]}の受付は{deadlines.describe(rule)}です。期限を過ぎています。"


def refusal(cfg: Config, result: Result, what: str, menu: Menu | None) -> Page:
    """The page for a refused (or not found, or expired) command; `what`: book | change | cancel | confirm."""
    code = result.code or str(result.status)
    lines = _lines(cfg, code, what, menu)
    status = 404 if result.status == Status.NOT_FOUND else 429 if code.startswith("guest_") else 400
    return message(_STATUS.get(code, status), TITLE[what], *lines)


def _lines(cfg: Config, code: str, what: str, menu: Menu | None) -> list[str]:
    rules = cfg.booking
    if code == "late":
        rule = (
            {"book": menu.book_until, "change": menu.change_until, "cancel": menu.cancel_until}.get(what, "0")
            if menu
            else "0"
        )
        return [late_line(what, rule), call_us(cfg)]
    if code == "too_far":
        days = menu.ahead_days if menu else 0
        return [f"ご予約は{days}日先まで承っています。もう少し近い日をお選びください。"]
    if code == "limit":
        limits = [
            f"{label}{n}件まで"
            for label, n in (
                ("お持ちいただけるご予約は", rules.max_open),
                ("1日", rules.max_per_day),
                ("1か月", rules.max_per_month),
            )
            if n
        ]
        return [f"ご予約の上限に達しています({'、'.join(limits)})。", call_us(cfg)]
    if code == "guest_email":
        return [
            "このメールアドレスには、確定待ちの仮予約があります。",
            f"お送りしたメールのリンクから確定してください(確定しない仮予約は{rules.tentative_minutes}分で取り消されます)。",
        ]
    if code == "guest_client":
        return [
            "この端末からの確定待ちの仮予約が多すぎます。",
            "お送りしたメールのリンクから確定するか、しばらくたってからお試しください。",
        ]
    if code == "guest_total":
        return ["ただいま仮予約の受付が混み合っています。しばらくたってからお試しください。", call_us(cfg)]
    if code == "changed":
        return ["ご予約の内容が変わっています。最新の内容をご確認のうえ、もう一度お試しください。"]
    if code in ("cancelled", "expired", str(Status.EXPIRED)):
        return ["このご予約はキャンセル済みか、確定の期限が過ぎて取り消されています。"]
    if code in ("menu", "staff"):
        return ["お選びのメニューまたは担当が見つかりません。最初からお選びください。"]
    if code == str(Status.NOT_FOUND):
        return ["ご予約が見つかりません。"]
    return [f"{_WHAT[what]}を承れませんでした。", call_us(cfg)]
