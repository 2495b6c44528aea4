"""Choosing a time step by step with GET only: each step is a short list of links (no script, no
cookies, one press on a feature phone): the menu, the day, the staff member or anyone, a free time.
What is chosen rides in the query (menu, staff, day, time, from); the confirmation page's form posts
the same fields, read by the same `read`. The booking pages, the guest page and the change pages
share it; the free times come from the ledger (booking_views), the pages never query tables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import booking_views
from mailgate.shop.availability import Offer, capable, offers
from mailgate.shop.calendar import AddonOption, Calendar, Menu
from mailgate.times import parse_date

DAYS_SHOWN = 14  # one step of the day list: two weeks
MAX_TIMES = 48  # one step of a day's times (a shop open round the clock on a 5-minute grid: pages)
ANYONE = "any"
WEEKDAYS = "月火水木金土日"
_DAY = re.compile(r"^[0-9]{8}$")
_TIME = re.compile(r"^(\d{1,2})(\d{2})$")


@dataclass(frozen=True)
class Choice:
    menu: Menu | None = None
    staff: str | None = None  # a canonical name; None: anyone (or not chosen yet)
    staff_chosen: bool = False
    day: date | None = None
    time: str = ""  # "HHMM" from the day's midnight; 24 and later run past midnight
    first: date | None = None  # the first day of the day list shown
    after: str = ""  # the day's times shown start after this one
    addons: tuple[str, ...] = ()  # the menu's add-ons ticked on the confirmation page (addon<id>=1)

    @property
    def step(self) -> str:
        if self.menu is None:
            return "menu"
        if self.day is None:
            return "day"
        if not self.staff_chosen:
            return "staff"
        return "time" if not self.time else "confirm"

    def start(self, cal: Calendar) -> datetime | None:
        m = _TIME.match(self.time)
        if self.day is None or m is None or int(m.group(2)) >= 60:
            return None
        midnight = datetime.combine(self.day, time.min, cal.tz)
        return midnight + timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))


def read(cal: Calendar, fields: Mapping[str, str], menu: Menu | None = None) -> Choice:
    """What the query or form chose; a value that does not name anything is as if not chosen.
    `menu`: fixed (a change keeps the booking's menu)."""
    if menu is None:
        menu = next((m for m in cal.menus if str(m.id) == fields.get("menu")), None)
    if menu is None:
        return Choice()
    staff, chosen = None, False
    people = choosable(cal, menu)
    if not people:
        chosen = True  # nobody to choose between: the slot's staff, or the one person
    elif fields.get("staff") == ANYONE:
        chosen = True
    else:
        names = {str(i): n for n, i in cal.staff_ids.items() if n in people}
        staff = names.get(fields.get("staff", ""))
        chosen = staff is not None
    return Choice(
        menu=menu,
        staff=staff,
        staff_chosen=chosen,
        day=_day(fields.get("day", "")),
        time=fields.get("time", "") if _TIME.match(fields.get("time", "")) else "",
        first=_day(fields.get("from", "")),
        after=fields.get("after", "") if _TIME.match(fields.get("after", "")) else "",
        addons=tuple(a.name for a in menu.addons if fields.get(addon_field(a)) == "1"),
    )


def addon_field(addon: AddonOption) -> str:
    return f"addon{addon.id}"


def addon_boxes(choice: Choice) -> list[tuple[str, str, bool]]:
    """The menu's add-ons as the confirmation page's checkboxes: (field, label with price, ticked)."""
    if choice.menu is None:
        return []
    return [
        (addon_field(a), f"{a.name}(+{a.price:,}円)" if a.price else a.name, a.name in choice.addons)
        for a in choice.menu.addons
    ]


def total(choice: Choice) -> int:
    """The menu's price and the add-ons ticked."""
    if choice.menu is None:
        return 0
    return choice.menu.price + sum(a.price for a in choice.menu.addons if a.name in choice.addons)


def choosable(cal: Calendar, menu: Menu) -> list[str]:
    """The staff a customer chooses between for `menu`: none for fixed slots or a single person."""
    people = [p for p in capable(cal, menu) if p]
    return [] if menu.kind == "slots" or len(people) <= 1 else people


def _day(text: str) -> date | None:
    """A day in a query (20261203), or None."""
    return parse_date(f"{text[:4]}-{text[4:6]}-{text[6:]}") if _DAY.match(text) else None


def fields_of(cal: Calendar, choice: Choice) -> dict[str, str]:
    """The choice as query or form fields."""
    out: dict[str, str] = {}
    if choice.menu is not None and choice.menu.id is not None:
        out["menu"] = str(choice.menu.id)
    if choice.staff_chosen:
        out["staff"] = str(cal.staff_ids.get(choice.staff, ANYONE)) if choice.staff else ANYONE
    if choice.day is not None:
        out["day"] = f"{choice.day:%Y%m%d}"
    if choice.time:
        out["time"] = choice.time
    return out


def href(base: str, cal: Calendar, choice: Choice, **extra: str) -> str:
    """A link to a step. Relative to the page's own path (`base`'s last segment): the links of a long
    list stay short, and the page small."""
    query = {**fields_of(cal, choice), **extra}
    return f"{base.rsplit('/', 1)[-1]}?{urlencode(query)}" if query else base


def day_label(day: date) -> str:
    return f"{day.month}/{day.day}({WEEKDAYS[day.weekday()]})"


def time_label(cal: Calendar, day: date, start: datetime) -> str:
    local = cal.local(start)
    return f"{'翌' if local.date() > day else ''}{local:%H:%M}"


def time_code(cal: Calendar, day: date, start: datetime) -> str:
    minutes = int((cal.local(start) - datetime.combine(day, time.min, cal.tz)).total_seconds() // 60)
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def menu_label(menu: Menu) -> str:
    price = f" {menu.price:,}円" if menu.price else ""
    return f"{menu.name}({menu.minutes}分{price})"


def summary(cal: Calendar, choice: Choice, offer: Offer | None = None) -> dict[str, str]:
    """What is chosen so far, in words."""
    out: dict[str, str] = {}
    if choice.menu is not None:
        out["menu"] = menu_label(choice.menu)
        if choice.menu.price:
            out["price"] = f"{choice.menu.price:,}円"
    if choice.staff_chosen:
        out["staff"] = (offer.staff if offer and choice.menu and choice.menu.kind == "slots" else None) or (
            choice.staff or "指名なし"
        )
    if choice.day is not None:
        out["day"] = f"{choice.day:%Y年%m月%d日}({WEEKDAYS[choice.day.weekday()]})"
    if offer is not None and choice.day is not None:
        out["time"] = f"{time_label(cal, choice.day, offer.start)}〜{time_label(cal, choice.day, offer.end)}"
    return out


class Chooser:
    """The steps' lists, read from the ledger off the event loop."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def calendar(self) -> Calendar:
        return self.ctx.calendar

    def offer(self, choice: Choice, now: datetime, *, but: int | None = None) -> Offer | None:
        """The free time chosen, or None when it is not free (taken meanwhile, past, or never was)."""
        cal = self.calendar
        start = choice.start(cal)
        if choice.menu is None or choice.day is None or start is None:
            return None
        times = self._times(choice, now, but)
        return next((o for o in times if o.start == start), None)

    def _times(self, choice: Choice, now: datetime, but: int | None) -> list[Offer]:
        assert choice.menu is not None and choice.day is not None
        with db.transaction(self.ctx.engine) as s:
            return booking_views.free_times(
                s, self.ctx.ledger, choice.menu, choice.day, choice.staff, now, but=but
            )

    async def free(self, choice: Choice, now: datetime, *, but: int | None = None) -> Offer | None:
        return await run_in_threadpool(self.offer, choice, now, but=but)

    async def lists(
        self, base: str, choice: Choice, now: datetime, *, but: int | None = None, wait: str = ""
    ) -> dict[str, Any]:
        """The template context of the step `choice` is at (menu, staff, day or time). `wait`: the
        waitlist page, for a registered customer: the day's full times are listed too, linking there."""
        return await run_in_threadpool(self._lists, base, choice, now, but, wait)

    def _lists(
        self, base: str, choice: Choice, now: datetime, but: int | None, wait: str = ""
    ) -> dict[str, Any]:
        cal = self.calendar
        step = "time" if choice.step == "confirm" else choice.step
        out: dict[str, Any] = {"step": step, "picked": summary(cal, choice), "back": self._back(base, choice)}
        if step == "menu":
            out["items"] = [(menu_label(m), href(base, cal, Choice(menu=m))) for m in cal.menus]
        elif step == "staff":
            out["items"] = self._staff(base, choice, now, but)
        elif step == "day":
            out.update(self._days(base, choice, now, but))
        else:
            out.update(self._times_of_day(base, choice, now, but, wait))
        return out

    def _times_of_day(
        self, base: str, choice: Choice, now: datetime, but: int | None, wait: str = ""
    ) -> dict[str, Any]:
        cal, day = self.calendar, choice.day
        assert day is not None and choice.menu is not None
        after = int(choice.after) if choice.after.isdigit() else -1
        free = self._times(choice, now, but)
        full: list[Offer] = []
        if wait:  # what an empty day would offer that is not free now: full, and waited for
            starts = {o.start for o in free}
            every = offers(cal, choice.menu, day, [], now=now, staff=choice.staff, taken_seats={})
            full = [o for o in every if o.start not in starts]
        coded = sorted(((time_code(cal, day, o.start), o) for o in [*free, *full]), key=lambda c: c[0])
        coded = [(code, o) for code, o in coded if int(code) > after]
        shown = coded[:MAX_TIMES]

        def item(code: str, o: Offer) -> tuple[str, str]:
            if o in full:
                return f"{time_label(cal, day, o.start)} 満席(キャンセル待ち)", href(
                    wait, cal, replace(choice, time=code)
                )
            seats = f" 残り{o.seats_left}席" if o.seats_left else ""
            return time_label(cal, day, o.start) + seats, href(base, cal, replace(choice, time=code))

        items = [item(code, o) for code, o in shown]
        more = len(coded) > MAX_TIMES
        return {"items": items, "later": href(base, cal, choice, after=shown[-1][0]) if more else ""}

    def _days(self, base: str, choice: Choice, now: datetime, but: int | None) -> dict[str, Any]:
        assert choice.menu is not None
        cal, menu = self.calendar, choice.menu
        today = cal.local(now).date()
        last = today + timedelta(days=menu.ahead_days)
        first = min(max(choice.first or today, today), last)
        count = min(DAYS_SHOWN, (last - first).days + 1)
        with db.transaction(self.ctx.engine) as s:
            days = booking_views.open_days(s, self.ctx.ledger, menu, choice.staff, first, count, now, but=but)
        items = [
            (day_label(d) + ("" if times else " ×"), href(base, cal, replace(choice, day=d)) if times else "")
            for d, times in days
        ]
        earlier = max(today, first - timedelta(days=DAYS_SHOWN))
        later = first + timedelta(days=count)
        return {
            "items": items,
            "earlier": href(base, cal, choice, **{"from": f"{earlier:%Y%m%d}"}) if first > today else "",
            "later": href(base, cal, choice, **{"from": f"{later:%Y%m%d}"}) if later <= last else "",
        }

    def _staff(self, base: str, choice: Choice, now: datetime, but: int | None) -> list[tuple[str, str]]:
        """Anyone, then each person who can do the menu: × (no link) for whoever has no free time."""
        cal, menu, day = self.calendar, choice.menu, choice.day
        assert menu is not None and day is not None
        with db.transaction(self.ctx.engine) as s:
            free = booking_views.free_staff(s, self.ctx.ledger, menu, day, choosable(cal, menu), now, but=but)
        anyone = replace(choice, staff=None, staff_chosen=True)
        return [("指名なし(どなたでも)", href(base, cal, anyone))] + [
            (p, href(base, cal, replace(choice, staff=p, staff_chosen=True))) if p in free else (f"{p} ×", "")
            for p in choosable(cal, menu)
        ]

    def _back(self, base: str, choice: Choice) -> str:
        """The step before this one."""
        cal = self.calendar
        if choice.time:
            return href(base, cal, replace(choice, time=""))
        if choice.staff_chosen and choice.menu is not None and choosable(cal, choice.menu):
            return href(base, cal, replace(choice, staff=None, staff_chosen=False))
        if choice.day is not None:
            return href(base, cal, replace(choice, day=None, staff=None, staff_chosen=False))
        return ""
