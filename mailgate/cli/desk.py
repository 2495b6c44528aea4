"""`mailgate book|change|cancel`: the shop's desk at the terminal, a caller on the phone. The same
ledger commands as the pages and the mail (ledger/fitting.py) with the desk's policy: the menu, the
staff member, a free time on the calendar and the seat the database guards — no customer deadlines
or limits. A time taken meanwhile says so (ちょうど埋まりました) with the nearest free times, and exits 1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import (
    AsOpt,
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    load_config,
    operator_actor,
)
from mailgate.config import Config

if TYPE_CHECKING:
    from mailgate.context import Context
    from mailgate.ledger.matching import Person
    from mailgate.ledger.results import Result
    from mailgate.models import Booking

AtOpt = Annotated[str, typer.Option("--at", help='the start in the shop\'s time, e.g. "2026-12-05 14:00"')]
NotifyOpt = Annotated[
    bool, typer.Option("--notify", help="mail the customer (when mailgate has their address)")
]
ANYONE = ("anyone", "指名なし")  # --staff: whoever is free


@dataclass(frozen=True)
class Asked:
    """What the operator asked for, to find the nearest free times when it was taken."""

    menu: str = ""
    at: datetime | None = None
    staff: str | None = None  # None: anyone
    but: int | None = None  # the booking being moved: its own time counts as free


@app.command(
    rich_help_panel=output.DAILY,
    epilog='Example: mailgate book --phone 090-1234-5678 --name 山田花子 --menu 整体 --at "2026-12-05 14:00"',
)
def book(
    ctx: typer.Context,
    menu: Annotated[str, typer.Option(help="the menu's name or alias")],
    at: Annotated[
        str | None, typer.Option("--at", help='the start in the shop\'s time, e.g. "2026-12-05 14:00"')
    ] = None,
    walk_in: Annotated[bool, typer.Option("--walk-in", help="starting now (on the menu's grid)")] = False,
    customer: Annotated[
        str, typer.Option(help="the customer: #ID (or ID), mail address, phone number or name")
    ] = "",
    name: Annotated[str, typer.Option(help="a caller's name: found, or a new customer")] = "",
    kana: Annotated[str, typer.Option(help="their reading (フリガナ), for a new customer")] = "",
    phone: Annotated[str, typer.Option(help="their phone: found by it, or a new customer")] = "",
    email: Annotated[str, typer.Option(help="their mail address, for a new customer")] = "",
    staff: Annotated[
        str | None, typer.Option(help="a staff member's name or alias, or `anyone` (the default)")
    ] = None,
    addon: Annotated[
        list[str] | None, typer.Option(help="an add-on of the menu (タオルレンタル); again for more")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="book a full or off-shift time anyway, flagged as a conflict")
    ] = False,
    notify: NotifyOpt = False,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Book a caller or a walk-in, found by #ID, phone, address or name, or created from --name,
    --kana, --phone, --email; on a free time, as the desk (no customer deadlines or limits)."""
    from mailgate.ledger import fitting
    from mailgate.ledger.callers import walk_in_start
    from mailgate.ledger.fit_rules import DESK
    from mailgate.models import utcnow

    if (at is None) == (not walk_in):
        raise fail("give --at TIME or --walk-in")
    c = _open(ctx)
    found = c.calendar.menu_named(menu)
    if walk_in and found is None:
        raise fail(f"no menu called {menu!r}", 1)
    start = walk_in_start(c.calendar, found, utcnow()) if walk_in and found else _when(at or "", c.cfg)
    customer_id, person = _caller(c, customer, name, kana, phone, email)
    cmd = fitting.FitBook(
        source="walk_in" if walk_in else "desk",
        start=start,
        menu=found.name if found else menu,
        staff=None if staff in ANYONE else staff,
        customer_id=customer_id,
        person=person,
        policy=DESK,
        notify=notify,
        addons=tuple(addon or ()),
        force=force,
    )
    asked = Asked(cmd.menu, start, cmd.staff)
    _run(c, as_json, lambda s, now: fitting.book(s, c.ledger, cmd, operator_actor(operator), now), asked)


@app.command(rich_help_panel=output.DAILY)
def change(
    ctx: typer.Context,
    booking_id: Annotated[int, typer.Argument(help="the booking's number (mailgate bookings)")],
    at: AtOpt,
    staff: Annotated[
        str | None, typer.Option(help="another staff member, or `anyone` (default: the same one)")
    ] = None,
    notify: NotifyOpt = False,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Move a booking to another free time (and staff member), as the desk."""
    from mailgate.ledger import fitting
    from mailgate.ledger.bookings import KEEP, _Keep
    from mailgate.ledger.fit_rules import DESK
    from mailgate.models import Booking

    c = _open(ctx)
    moved_to: str | _Keep | None = KEEP if staff is None else None if staff in ANYONE else staff
    cmd = fitting.FitMove(booking_id, _when(at, c.cfg), staff=moved_to, policy=DESK, notify=notify)
    with Session(c.engine) as s:
        booking = s.get(Booking, booking_id)
    staff_asked = booking.staff if booking is not None and isinstance(moved_to, _Keep) else moved_to
    asked = Asked(
        booking.menu if booking else "",
        cmd.start,
        staff_asked if isinstance(staff_asked, str) else None,
        booking_id,
    )
    _run(c, as_json, lambda s, now: fitting.move(s, c.ledger, cmd, operator_actor(operator), now), asked)


@app.command(rich_help_panel=output.DAILY)
def cancel(
    ctx: typer.Context,
    booking_id: Annotated[int, typer.Argument(help="the booking's number (mailgate bookings)")],
    notify: NotifyOpt = False,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Cancel a booking, as the desk: its seat is free at once."""
    from mailgate.ledger import fitting
    from mailgate.ledger.fit_rules import DESK

    c = _open(ctx)
    cmd = fitting.FitCancel(booking_id, policy=DESK, notify=notify)
    _run(c, as_json, lambda s, now: fitting.cancel(s, c.ledger, cmd, operator_actor(operator), now), Asked())


def _open(ctx: typer.Context) -> Context:
    context: Context = build_context(load_config(ctx))
    return context


def _caller(
    c: Context, given: str, name: str, kana: str, phone: str, email: str
) -> tuple[int | None, Person]:
    """The one customer the operator means, or the details of a new one; several: which one? (exit 1)."""
    from mailgate import normalize
    from mailgate.ledger import callers

    if not (given or name or phone or email):
        raise fail("who is booking? --customer, or --phone / --name / --email of a caller")
    try:
        person = callers.details(name, kana, phone, email)
    except normalize.NormalizeError as e:
        raise fail(f"{e} (--name, --kana, --phone)") from None
    with Session(c.engine) as s:
        who = callers.find(s, given, person)
    if len(who.found) == 1:
        return who.found[0].id, person
    if who.found:
        ids = "\n".join(f"  #{x.id} {x.name} {x.name_kana} {x.phone} {x.email}" for x in who.found)
        raise fail(
            f"{len(who.found)} customers share {given or phone or name}:\n{ids}\ngive one: --customer #ID", 1
        )
    if given:
        raise fail(f"no customer with id, address, phone or name {given}", 1)
    return None, who.person


def _run(c: Context, as_json: bool, command: Callable[[Session, datetime], Result], asked: Asked) -> None:
    """The command in one transaction; what it did, or why not (exit 1) with the nearest free times
    when the time was taken."""
    from mailgate import db
    from mailgate.ledger.results import Status
    from mailgate.models import Booking, utcnow

    now = utcnow()
    done = (Status.CREATED, Status.CONFLICT, Status.MOVED, Status.CANCELLED, Status.ALREADY)
    with db.transaction(c.engine) as s:
        result = command(s, now)
        if result.status not in done:  # refused: nothing stays, not even a caller created on the way
            s.rollback()
    out: dict[str, Any] = asdict(result)
    with Session(c.engine) as s:
        booking = s.get(Booking, result.booking_id) if result.booking_id else None
        if booking is not None:
            out["booking"] = _shown(booking, c.cfg)
        if result.status == Status.TAKEN:
            out["nearest"] = _nearest(s, c, asked, now)
    ok = result.status in done
    if as_json:
        emit_json(out)
    else:
        _say(out, result.status == Status.TAKEN, ok)
    if not ok:
        raise typer.Exit(1)


def _nearest(s: Session, c: Context, asked: Asked, now: datetime) -> list[dict[str, Any]]:
    from mailgate.ledger import free_times
    from mailgate.ledger.fit_rules import DESK

    cal = c.calendar
    menu = cal.menu_named(asked.menu) if asked.menu else None
    if menu is None or asked.at is None:
        return []
    staff = cal.staff_named(asked.staff) if asked.staff else None
    found = free_times.nearest(s, cal, menu, asked.at, now=now, staff=staff, policy=DESK, but=asked.but)
    return [{"start": f"{o.start.astimezone(cal.tz):%Y-%m-%d %H:%M}", "staff": o.staff} for o in found]


def _shown(booking: Booking, cfg: Config) -> dict[str, Any]:
    tz = cfg.tz
    return {
        "id": booking.id,
        "start": f"{booking.start.astimezone(tz):%Y-%m-%d %H:%M}",
        "end": f"{booking.end.astimezone(tz):%H:%M}",
        "zone": tz.key,
        "menu": booking.menu,
        "staff": booking.staff,
        "customer_id": booking.customer_id,
        "status": booking.status,
        "version": booking.version,
    }


def _say(out: dict[str, Any], taken: bool, ok: bool) -> None:
    b = out.get("booking")
    line = f"{out['status']}: {out['reason']}"
    if b and ok:
        line += (
            f"\n  #{b['id']} {b['start']}-{b['end']} ({b['zone']}) {b['menu']} {b['staff'] or '指名なし'}"
            f" ({b['status']})"
        )
    if out.get("conflicts"):
        line += "\n  [CONFLICT] " + " / ".join(out["conflicts"])
    if taken:
        line = "ちょうど埋まりました: that time is not free.\n" + line
        nearest = out.get("nearest") or []
        line += "\nnearest free times:" if nearest else "\nno free time within three days"
        line += "".join(f"\n  {o['start']} {o['staff'] or '指名なし'}" for o in nearest)
    typer.echo(line, err=not ok)


def _when(text: str, cfg: Config) -> datetime:
    try:
        naive = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise fail(f'expected a time like "2026-12-05 14:00", got {text!r}') from None
    if not 2000 <= naive.year <= 2199:  # days around it are reckoned (the nearest free times)
        raise fail(f"{text!r} is not a year mailgate books in (2000-2199)")
    return naive.replace(tzinfo=cfg.tz) if naive.tzinfo is None else naive
