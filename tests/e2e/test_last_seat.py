"""The last seats raced by 56 customers at once against a running `mailgate serve`, on SQLite and on
PostgreSQL: 30 guests posting the booking page (threads), 20 registered customers replying `1` to
their mailed lists (threads, over SMTP), 6 operators running `mailgate book` (processes), and a
vendor's notice for the same time. The shop has two seats at that time (two staff, 「指名なし」).
Exactly two bookings hold them; the vendor's notice is recorded either way (a conflict when it came
late); every other customer is told 「ちょうど埋まりました」; no page fails, no mail is lost."""

from __future__ import annotations

import json
import re
import smtplib
import subprocess
import sys
import threading
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.models import Booking, BookingStatus, Conflict, Customer, Message, MessageState
from mailgate.shop_tables import MenuItem, SeatClaim
from tests import notices
from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.helpers import forms, mails_to, text_of
from tests.ledger.conftest import AUTHN
from tests.ledger.test_fitting import JST

pytestmark = pytest.mark.e2e  # starts a real server

# A Thursday far ahead, the only bookable hour of the week: nothing depends on today.
START = datetime(2031, 12, 4, 10, 0, tzinfo=JST)
SEATS = 2
# 50, 40 and 10 until the suite's time ran over 10 minutes: 28 times the seats still race.
WEB, MAIL, DESK = 30, 20, 6
SHOP = """staff_alerts = ["staff@shop.example"]
phone = "03-1234-5678"
staff = [{ name = "佐藤" }, { name = "田中" }]
[[shop.menus]]
name = "整体"
minutes = 60
grid = 60
book_until = "0"
ahead_days = 3650
[shop.hours]
mon = "closed"
tue = "closed"
wed = "closed"
thu = "10:00-11:00"
fri = "closed"
sat = "closed"
sun = "closed"
"""
# The limits this run needs: every client here is 127.0.0.1 (README: load runs set their own).
LIMITS = """
[booking]
guest_holds_per_client = 0
guest_holds_total = 0
[smtp]
max_connections = 300
max_connections_per_client = 300
max_messages_per_client_minute = 1000
[web]
max_connections = 300
max_connections_per_client = 300
"""
# The requests to book@ are answers to mail not yet tied to a list: counted per client, all from here.
REPLIES = "replies_per_client_hour = 1000\nreplies_total_hour = 1000"
# The operators' terminals: `mailgate book` imported once, then forked, one process per operator,
# each waiting to be told to go (ten interpreters each importing mailgate had taken 8 s of the
# test's two cores). Each writes its output and exit code to files of its own.
OPERATORS = """
import json, os, sys, time, traceback
from pathlib import Path
from mailgate.cli import app
go, here, runs = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
pids = []
for n, args in enumerate(runs):
    pid = os.fork()
    if pid:
        pids.append(pid)
        continue
    for fd, name in ((1, f"operator-{n}.out"), (2, f"operator-{n}.err")):
        os.dup2(os.open(here / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    (here / f"ready-{n}").touch()
    deadline = time.monotonic() + 120
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.002)
    code = 1
    try:
        app(args, prog_name="mailgate")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:  # the child never goes on with the loop
        sys.stdout.flush()
        sys.stderr.flush()
        (here / f"operator-{n}.code").write_text(str(code))
        os._exit(code)
for pid in pids:
    os.waitpid(pid, 0)
"""
TAKEN = "ちょうど埋まりました"


def member(i: int) -> str:
    return f"member{i:02d}@docomo.ne.jp"


def customers(engine: Any) -> dict[str, int]:
    """Registered customers: MAIL who book by mail, DESK whom operators book for."""
    with db.transaction(engine) as s:
        for i in range(MAIL + DESK):
            s.add(Customer(email=member(i), email_key=member(i), status="active", name=f"会員{i}"))
    with Session(engine) as s:
        return {c.email or "": c.id or 0 for c in s.exec(select(Customer))}


def send(served: Served, sender: str, to: str, body: str) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, "Re:"
    mail.set_content(body)
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=60) as s:
        s.send_message(mail, sender, [to])


def lists(served: Served) -> dict[str, str]:
    """Each member's request to book@, answered with a list whose first time is the contested one:
    the address to reply to, per member."""
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=60) as s:
        for i in range(MAIL):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = member(i), "book@shop.example", "予約"
            mail.set_content(f"{START:%Y/%m/%d} 整体")
            s.send_message(mail, member(i), ["book@shop.example"])
    wait_for(lambda: all(mails_to(served.outbox, member(i)) for i in range(MAIL)), timeout=180)
    reply_to = {}
    for i in range(MAIL):
        [listed] = mails_to(served.outbox, member(i))
        first = re.search(r"^1\. (\d+)/(\d+)\(.\) (\d\d:\d\d)", text_of(listed), re.M)
        assert first and first.groups() == ("12", "4", "10:00"), text_of(listed)
        reply_to[member(i)] = str(listed["Reply-To"])
    return reply_to


def guest_forms(served: Served, menu_id: int) -> list[dict[str, str]]:
    """The confirmation page of the contested time, filled in by each guest."""
    query = {"menu": str(menu_id), "staff": "any", "day": f"{START:%Y%m%d}", "time": f"{START:%H%M}"}
    filled = []
    with httpx.Client(base_url=served.base_url, timeout=60) as http:
        for i in range(WEB):
            page = http.get("/book", params=query)
            assert page.status_code == 200, page.text
            [form] = [f for f in forms(page.text) if f["action"].endswith("book")]
            details = {"name": f"来店 {i}号", "name_kana": "ライテン", "phone": f"0901111{i:04d}"}
            filled.append({**form["fields"], **details, "email": f"guest{i}@example.jp"})
    return filled


def operators(tmp_path: Path, served: Served, ids: list[int]) -> tuple[Path, subprocess.Popen[str]]:
    """The operators' processes started and waiting for `go`; and the process they were forked from."""
    go = tmp_path / "go"
    at = ["--at", f"{START:%Y-%m-%d %H:%M}", "--json"]
    runs = [
        ["--config", str(served.config), "book", "--customer", str(customer_id), "--menu", "整体", *at]
        for customer_id in ids
    ]
    parent = subprocess.Popen(
        [sys.executable, "-c", OPERATORS, str(go), str(tmp_path), json.dumps(runs)], text=True
    )
    wait_for(lambda: all((tmp_path / f"ready-{n}").exists() for n in range(len(ids))), timeout=120)
    return go, parent


def desk_results(tmp_path: Path, count: int) -> list[tuple[str, str, int]]:
    """Each operator's (stdout, stderr, exit code)."""

    def read(n: int, what: str) -> str:
        return (tmp_path / f"operator-{n}.{what}").read_text(encoding="utf-8")

    return [(read(n, "out"), read(n, "err"), int(read(n, "code"))) for n in range(count)]


def test_the_last_seats_raced_by_page_mail_reply_and_operator_are_booked_exactly_once(
    tmp_path: Path, db_url: str
) -> None:
    path = write_config(tmp_path / "shop", AUTHN + LIMITS, db_url=db_url, shop=SHOP, mail=REPLIES)
    ctx = Context.build(config.load(path))
    ids = customers(ctx.engine)
    with Session(ctx.engine) as s:
        menu_id = s.exec(select(MenuItem.id).where(MenuItem.name == "整体")).one() or 0
    log = (tmp_path / "serve.log").open("w")
    served = start_serve(path, stderr=log)
    try:
        reply_to = lists(served)
        filled = guest_forms(served, menu_id)
        go, desk_parent = operators(tmp_path, served, [ids[member(MAIL + n)] for n in range(DESK)])
        pages: list[httpx.Response] = []
        barrier = threading.Barrier(WEB + MAIL + 1, timeout=60)

        def guest(n: int) -> None:
            barrier.wait()
            time.sleep(n * 0.03)  # spread over the time the mail and the operators take to arrive
            with httpx.Client(base_url=served.base_url, timeout=60) as http:
                pages.append(http.post("/book", data=filled[n]))

        def replier(i: int) -> None:
            barrier.wait()
            send(served, member(i), reply_to[member(i)], "1\n\n> 1. 12/4(木) 10:00")

        threads = [threading.Thread(target=guest, args=(n,)) for n in range(WEB)]
        threads += [threading.Thread(target=replier, args=(i,)) for i in range(MAIL)]
        for t in threads:
            t.start()
        barrier.wait()
        go.touch()
        vendor = notices.stores_booked("9100", "2031年12月04日 (木) 10:00 ~ 11:00", staff="佐藤")
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=60) as s:
            s.sendmail("noreply@coubic.com", ["notices@shop.example"], vendor)
        for t in threads:
            t.join(timeout=120)
        assert desk_parent.wait(timeout=120) == 0
        desk = desk_results(tmp_path, DESK)

        # Every mail (the requests, the replies, the notice) reached a final state.
        def settled() -> bool:
            with Session(db.reading(ctx.engine)) as s:
                states = list(s.exec(select(Message.state)))
            return len(states) == 2 * MAIL + 1 and all(st in MessageState.FINAL for st in states)

        wait_for(settled, timeout=180)
        wait_for(lambda: all(len(mails_to(served.outbox, member(i))) >= 2 for i in range(MAIL)), timeout=180)
    finally:
        assert served.stop() == 0, (tmp_path / "serve.log").read_text()[-5000:]
        log.close()

    with Session(ctx.engine) as s:
        at_start = list(s.exec(select(Booking).where(Booking.start == START)))
        holders = set(s.exec(select(SeatClaim.booking_id).distinct()))
        conflicts = {c.booking_id for c in s.exec(select(Conflict))}
        booked_customers = {
            b.customer_id for b in at_start if b.source != "stores" and b.status in BookingStatus.HOLDING
        }
        by_id = {
            c.id: c.email for c in s.exec(select(Customer).where(col(Customer.id).in_(booked_customers)))
        }
    ctx.engine.dispose()

    # The seats: exactly SEATS bookings hold them, however the race went.
    assert len(holders) == SEATS and holders <= {b.id for b in at_start}
    [vendor_booking] = [b for b in at_start if b.source == "stores"]
    assert vendor_booking.id in holders or vendor_booking.id in conflicts
    customers_won = [b for b in at_start if b.source != "stores" and b.status in BookingStatus.HOLDING]
    assert len(customers_won) == SEATS - (vendor_booking.id in holders)
    assert all(b.id in holders for b in customers_won)

    # The pages: a hold or 「ちょうど埋まりました」, never an error.
    assert len(pages) == WEB
    held = [p for p in pages if p.status_code == 200]
    assert all(p.status_code == 409 and TAKEN in p.text for p in pages if p.status_code != 200)
    # The operators: booked, or refused with the words and exit 1.
    desk_won = [out for out, _err, code in desk if code == 0]
    assert all(code == 1 and '"taken"' in out for out, _err, code in desk if code != 0), desk
    # The mail: a confirmation for the one booked, 「ちょうど埋まりました」 and a fresh list for the rest.
    mail_won = [member(i) for i in range(MAIL) if member(i) in by_id.values()]
    for i in range(MAIL):
        answer = text_of(mails_to(served.outbox, member(i))[1])
        assert (TAKEN in answer) != (member(i) in mail_won), answer
    assert len(held) + len(desk_won) + len(mail_won) == len(customers_won)
