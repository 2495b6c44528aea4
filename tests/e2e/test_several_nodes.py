"""Three `mailgate serve` nodes on one PostgreSQL, one mailbox, one relay: a mixed stream sent to all
of them, one node SIGKILLed mid-stream and started again, and then everything exactly once.

The stream: blank signups, STORES booking notices, clashing pairs (same staff, same time, two
reservation numbers), notices sent to two nodes at once or both by SMTP and into the mailbox, and
one booking arriving three ways at once (the vendor's mail in the mailbox, forwarded as an
attachment to one node, pasted inline to another). The node that polls the mailbox is the one
killed, so a standby must take the mailbox over.
"""

from __future__ import annotations

import smtplib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, create_engine, select

from mailgate import config, db
from mailgate.inbound.imap_session import mailbox_key, section
from mailgate.inbound.store import dedupe_key
from mailgate.models import Booking, Conflict, Event, Message, MessageState, Outbox, OutboxState
from tests import notices
from tests.conftest import CORPUS, wait_for
from tests.dovecot import Dovecot, running_dovecot
from tests.e2e.cluster import IMAP_PASSWORD_ENV, LockWatch, Node, Relay, node_config, recording_relay
from tests.e2e.helpers import first_url, forms, parse_mail
from tests.e2e.test_notices_imap import STORED, append, server_flags

pytestmark = pytest.mark.e2e
T = TypeVar("T")

SIGNUP, NOTICES = "signup@shop.example", "notices@shop.example"
FORWARDER = "uketsuke@salon-mail.example"
FAMILY = {"佐々木": "ササキ", "高橋": "タカハシ", "伊藤": "イトウ", "渡辺": "ワタナベ", "中村": "ナカムラ"}
FAMILY |= {"小林": "コバヤシ", "加藤": "カトウ", "吉田": "ヨシダ", "山本": "ヤマモト", "松本": "マツモト"}
GIVEN = {"花子": "ハナコ", "次郎": "ジロウ", "美咲": "ミサキ"}


@dataclass(frozen=True)
class Send:
    """Mail for the nodes' SMTP: each of `raws` to a different node, all at the same moment."""

    raws: tuple[bytes, ...]
    sender: str
    rcpt: str


@dataclass(frozen=True)
class Append:
    """A notice put into the shop's mailbox."""

    raw: bytes


Step = Send | Append


def blank(i: int) -> tuple[str, bytes]:
    addr = f"guest{i:02d}@example.jp"
    return (
        addr,
        f"From: {addr}\r\nTo: {SIGNUP}\r\nSubject: \r\nMessage-ID: <nodes-{i}@example.jp>\r\n\r\n".encode(),
    )


def booked(number: str, start: datetime, staff: str, who: int) -> bytes:
    (family, family_kana), (given, given_kana) = (
        list(FAMILY.items())[who % 10],
        list(GIVEN.items())[who // 10],
    )
    return notices.stores_booked(
        number,
        notices.jp_when(start),
        staff=staff,
        name=f"{family} {given}",
        kana=f"{family_kana} {given_kana}",
        email=f"customer{who}@example.jp",
        phone=f"090-2000-{who:04d}",
    )


@dataclass
class Plan:
    stream: list[Step]  # sent while the nodes run; one of them is killed half way
    last: list[Step]  # sent once the killed node is back
    spare: Iterator[tuple[str, bytes]]  # blank mails for the moment of the kill
    numbers: list[str]  # every reservation number, once
    pairs: list[tuple[str, str]]  # the clashing ones


def plan() -> Plan:
    signups = [blank(i) for i in range(30)]
    numbers: list[str] = []
    pairs: list[tuple[str, str]] = []
    notice_steps: list[Step] = []
    for i in range(20):  # 20 bookings in distinct slots, 12/7 (Mon) .. 12/10
        number = f"51{i:06d}"
        numbers.append(number)
        start = datetime(2026, 12, 7, 10) + timedelta(days=i // 5, hours=2 * (i % 5))
        raw = booked(number, start, ("田中", "佐藤")[i % 2], i)
        if i < 12:
            notice_steps.append(Send((raw,), "noreply@coubic.com", NOTICES))
        elif i < 15:  # to two nodes at once
            notice_steps.append(Send((raw, raw), "noreply@coubic.com", NOTICES))
        elif i < 17:  # by SMTP and into the mailbox
            notice_steps += [Send((raw,), "noreply@coubic.com", NOTICES), Append(raw)]
        else:
            notice_steps.append(Append(raw))
        if i % 4 == 3:  # a clashing pair: 佐藤 twice at the same time
            p = i // 4
            start = datetime(2026, 12, 14, 13) + timedelta(days=p)
            pair = (f"62{p:05d}1", f"62{p:05d}2")
            pairs.append(pair)
            numbers += pair
            first, second = (booked(n, start, "佐藤", 20 + 2 * p + k) for k, n in enumerate(pair))
            notice_steps.append(Append(first) if p >= 3 else Send((first,), "noreply@coubic.com", NOTICES))
            notice_steps.append(Send((second,), "noreply@coubic.com", NOTICES))
        if i == 9:  # one booking three ways at once: mailbox, attached forward, inline forward
            numbers.append("87246923")
            notice_steps.append(Append((CORPUS / "stores" / "booked-01.eml").read_bytes()))
            forwards = [CORPUS / "forwarded" / f"stores-booked-{how}.eml" for how in ("attached", "inline")]
            notice_steps.append(Send(tuple(f.read_bytes() for f in forwards), FORWARDER, NOTICES))
    signup_steps: list[Step] = [Send((raw,), addr, SIGNUP) for addr, raw in signups[:24]]
    signup_steps += [Send((raw, raw), addr, SIGNUP) for addr, raw in signups[24:26]]  # two nodes at once
    stream = [step for both in zip_longest(signup_steps, notice_steps) for step in both if step is not None]
    last: list[Step] = [Send((raw,), addr, SIGNUP) for addr, raw in signups[26:]]
    return Plan(stream, last, (blank(i) for i in range(30, 40)), numbers, pairs)


@dataclass
class Run:
    dc: Dovecot
    nodes: list[Node] = field(default_factory=list)  # every process started, the killed one too
    expected: set[tuple[str, str]] = field(default_factory=set)  # (dedupe key, rcpt) acknowledged
    signups: set[str] = field(default_factory=set)  # who sent a blank mail
    acks: Counter[str] = field(default_factory=Counter)  # 250s per node
    appended: int = 0
    turn: int = 0

    def live(self) -> list[Node]:
        return [n for n in self.nodes if n.alive]

    def step(self, step: Step, to: list[Node] | None = None) -> None:
        """Send (round-robin over the live nodes, unless `to`) or append to the mailbox."""
        if isinstance(step, Append):
            append(self.dc, step.raw)
            self.appended += 1
            self.expected.add((dedupe_key(step.raw)[0], NOTICES))
            return
        live = self.live()
        targets = to or [live[(self.turn + k) % len(live)] for k in range(len(step.raws))]
        self.turn += 1

        def send(node: Node, raw: bytes) -> None:
            with smtplib.SMTP("127.0.0.1", node.served.smtp_port, timeout=30) as s:
                s.sendmail(step.sender, [step.rcpt], raw)  # raises unless 250
            self.acks[node.app] += 1

        with ThreadPoolExecutor(len(targets)) as pool:
            list(pool.map(send, targets, step.raws))
        self.expected.update((dedupe_key(raw)[0], step.rcpt) for raw in step.raws)
        if step.rcpt == SIGNUP:
            self.signups.add(step.sender)


def within(predicate: Callable[[], T | None], seconds: float) -> T | None:
    """The predicate's first true value within `seconds`, else None."""
    try:
        return wait_for(predicate, timeout=seconds)
    except AssertionError:
        return None


def kill_mid_work(
    run: Run, victim: Node, relay: Relay, engine: Engine, spare: Iterator[tuple[str, bytes]]
) -> Killed:
    """SIGKILL `victim` while the relay has a reply from it whose 250 it has not heard, and while its
    worker is inside the transaction applying a blank mail (held there: the test holds the lock that
    serializes signups per address). Another node may take the reply or the blank mail first: then
    the next one."""
    pid = f"/{victim.served.proc.pid}/"

    def in_flight() -> int | None:
        with Session(engine) as s:
            rows = s.exec(
                select(Outbox).where(
                    Outbox.state == OutboxState.SENDING, col(Outbox.claimed_by).contains(pid)
                )
            )
            return next((r.id for r in rows if r.header_message_id in holding), None)

    def applying(addr: str) -> int | None:
        """The blank mail from addr, when the victim claimed it and its apply waits for our lock."""
        with Session(engine) as s:
            waiting = s.exec(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = :app"
                ).bindparams(app=victim.app)
            ).one()[0]
            stmt = select(Message.id).where(Message.from_addr == addr, col(Message.claimed_by).contains(pid))
            return s.exec(stmt).first() if waiting else None

    with relay.answering_later() as holding:
        outbox_id = None
        while outbox_id is None:
            addr, raw = next(spare)
            run.step(Send((raw,), addr, SIGNUP), to=[victim])
            outbox_id = within(in_flight, 5)
        message_id = None
        while message_id is None:
            addr, raw = next(spare)
            with db.transaction(engine) as lock:
                db.serialize(lock, f"customer:email:{addr}")
                run.step(Send((raw,), addr, SIGNUP), to=[victim])
                message_id = within(lambda: applying(addr), 5)  # noqa: B023
                if message_id is not None:
                    victim.kill()
    return Killed(victim.app, outbox_id, message_id)


@dataclass(frozen=True)
class Killed:
    app: str
    outbox_id: int  # the reply the relay took and the killed node never recorded
    message_id: int  # the blank mail it was applying


def settled(engine: Engine, run: Run) -> bool:
    """Every message stored and in a final state, nothing queued or being sent, the mailbox done."""
    with Session(engine) as s:
        states = list(s.exec(select(Message.state)))
        busy = list(
            s.exec(select(Outbox.id).where(col(Outbox.state).in_([OutboxState.QUEUED, OutboxState.SENDING])))
        )
    final = not {MessageState.RECEIVED, MessageState.PROCESSING} & set(states)
    flags = server_flags(run.dc)
    return len(states) == len(run.expected) and final and not busy and flags == [{STORED}] * run.appended


def start_nodes(run: Run, configs: list[Path], env: dict[str, str]) -> None:
    """All at once (each takes seconds to start); each in run.nodes as soon as it runs."""
    with ThreadPoolExecutor(len(configs)) as pool:
        list(pool.map(lambda c: run.nodes.append(Node.start(f"node-{c.parent.name}", c, env)), configs))


def test_three_nodes_on_one_postgresql_apply_every_message_once_through_a_kill(
    tmp_path: Path, pg_db_url: str
) -> None:
    p = plan()
    with running_dovecot() as dc, recording_relay() as relay:
        configs = [node_config(tmp_path / name, pg_db_url, dc, relay.port) for name in "abc"]
        env = {IMAP_PASSWORD_ENV: dc.password}
        mailbox = f"imap:{mailbox_key(section(config.load(configs[0])))}"
        run = Run(dc)
        engine = create_engine(pg_db_url)
        codes: dict[str, int] = {}
        try:
            with LockWatch(pg_db_url, mailbox) as watch:
                start_nodes(run, configs, env)
                [poller] = wait_for(watch.now, timeout=30)  # one node polls the mailbox, two stand by
                victim = next(n for n in run.nodes if n.app == poller)
                half = len(p.stream) // 2
                for step in p.stream[:half]:
                    run.step(step)
                killed = kill_mid_work(run, victim, relay, engine, p.spare)
                acked_by_victim = run.acks[victim.app]
                for step in p.stream[half:]:
                    run.step(step)
                # A standby takes the mailbox over (the lock went with the dead node's connection);
                # only then does the killed node come back, to stand by in its turn.
                [taker] = wait_for(lambda: (h := watch.now()) and h != (victim.app,) and h, timeout=30)
                run.nodes.append(Node.start(f"{victim.app}-again", victim.served.config, env))
                for step in p.last:
                    run.step(step)
                wait_for(lambda: settled(engine, run), timeout=90)
            print(f"\n{victim.app}, the mailbox's poller, SIGKILLed after {acked_by_victim} 250s from it")
            check_messages_and_ledger(engine, run, p, killed)
            check_outbox(engine, relay, run, p, killed)
            check_one_poller(watch, run, victim.app, taker)
            check_links_open_on_every_node(relay, run)
        finally:
            alive = [n for n in run.nodes if n.alive]
            with ThreadPoolExecutor(len(alive) or 1) as pool:  # a second or more each: all at once
                codes = dict(zip([n.app for n in alive], pool.map(Node.stop, alive), strict=True))
            engine.dispose()
    assert set(codes.values()) == {0}, codes


def check_messages_and_ledger(engine: Engine, run: Run, p: Plan, killed: Killed) -> None:
    with Session(engine) as s:
        messages = list(s.exec(select(Message)))
        bookings = list(s.exec(select(Booking)))
        conflicts = list(
            s.exec(select(Conflict, Booking).join(Booking, col(Booking.id) == Conflict.booking_id))
        )
        created = list(s.exec(select(Event.id).where(Event.kind == "booking_created")))
    stored = Counter((m.dedupe_key, m.rcpt) for m in messages)
    assert set(stored) == run.expected and set(stored.values()) == {1}, "every message stored once"
    assert [(m.id, m.state, m.reason) for m in messages if m.state != MessageState.APPLIED] == []
    taken_over = {m.id for m in messages if m.lost_leases}
    assert killed.message_id in taken_over
    print(f"messages: {len(messages)} stored and applied; taken over from the killed node: {len(taken_over)}")
    # One booking per reservation number, created once; one conflict per clashing pair.
    assert sorted(b.external_id or "" for b in bookings) == sorted(p.numbers)
    assert len(created) == len(p.numbers)
    clashing = Counter(b.external_id for c, b in conflicts if c.resolved_at is None)
    assert set(clashing.values()) == {1} and len(clashing) == len(p.pairs)
    assert all(len(set(pair) & set(clashing)) == 1 for pair in p.pairs)
    # The booking that arrived three ways at once: booked by one message, "already" for the others.
    three = sorted(m.reason.split(" (")[0] for m in messages if "87246923" in m.reason)
    # (The attached copy is the same notice: "already applied by message N" when it came second.)
    assert len(three) == 3 and all(t.startswith("STORES 87246923 already") for t in three[:2])
    assert three[2].startswith("STORES 87246923 booked as")


def check_outbox(engine: Engine, relay: Relay, run: Run, p: Plan, killed: Killed) -> None:
    """One reply per signup and one alert per clash, each delivered once; a second copy only of a
    row re-sent after a lost lease (the killed node's relay had the mail, the node had no record)."""
    with Session(engine) as s:
        rows = list(s.exec(select(Outbox)))
    assert {r.state for r in rows} == {OutboxState.SENT}
    assert sorted(r.to_addr for r in rows if r.template == "register_link") == sorted(run.signups)
    alerts = [r for r in rows if r.template == "staff_alerts"]
    assert len(alerts) == len(p.pairs) and {r.to_addr for r in alerts} == {"staff@shop.example"}
    assert len(rows) == len(run.signups) + len(p.pairs)
    copies = relay.copies()
    assert set(copies) == {r.header_message_id for r in rows}, "every row delivered, nothing else"
    replies: dict[str, set[str]] = {}
    for rcpt, msgid, _ in relay.deliveries():
        replies.setdefault(rcpt, set()).add(msgid)
    assert all(len(replies[a]) == 1 for a in run.signups), "one reply per signup"
    resent = {r.id for r in rows if r.attempts > 1}
    logged = {
        int(line.split("outbox=")[1].split()[0]) for n in run.nodes for line in n.lines("re-sent after")
    }
    twice = {r.id for r in rows if copies[r.header_message_id] > 1}
    print(
        f"outbox: {len(rows)} sent; re-sent after a lost lease: {len(resent)}; delivered twice: {len(twice)}"
    )
    # Re-sent: every row the killed node had claimed; twice: the one the relay had taken from it.
    assert logged == resent and killed.outbox_id in twice
    assert twice <= resent and all(copies[r.header_message_id] <= r.attempts for r in rows)


def check_one_poller(watch: LockWatch, run: Run, victim: str, taker: str) -> None:
    assert max(len(h) for h in watch.holders) == 1, "never two pollers"
    held = [h[0] for h in watch.holders if h]
    assert [a for i, a in enumerate(held) if i == 0 or a != held[i - 1]] == [victim, taker]
    assert [n.app for n in run.nodes if n.lines("polling it from here")] == [taker]
    assert {n.app for n in run.nodes if n.lines("standing by")} == {n.app for n in run.nodes} - {victim}


def check_links_open_on_every_node(relay: Relay, run: Run) -> None:
    """A registration link mailed by one node opens on the others; the form shown by one is accepted
    by another; the personal link in the confirmation opens anywhere."""
    live = {n.served.http_port: n for n in run.live()}
    links = [first_url(parse_mail(raw)[2]) for rcpt, _, raw in relay.deliveries() if rcpt in run.signups]
    url = next(u for u in links if urlsplit(u).port in live)
    issuer = live[urlsplit(url).port]
    others = [n for n in live.values() if n is not issuer]
    path = urlsplit(url).path
    with httpx.Client(timeout=30) as http:
        pages = [http.get(n.served.base_url + path) for n in others]
        assert [page.status_code for page in pages] == [200, 200]
        assert all("フリガナ" in page.text for page in pages)
        [form] = [f for f in forms(pages[0].text) if "csrf" in f["fields"]]
        fields = {
            **form["fields"],
            "name": "山田 花子",
            "name_kana": "やまだ はなこ",
            "phone": "090-1111-2222",
        }
        done = http.post(others[1].served.base_url + path, data={**fields, "pin": "2580", "pin2": "2580"})
        assert done.status_code == 200 and "会員登録が完了しました" in done.text
        confirmed = wait_for(
            lambda: [r for _, _, r in relay.deliveries() if "登録が完了" in parse_mail(r)[1]]
        )
        personal = urlsplit(first_url(parse_mail(confirmed[0])[2])).path
        for node in live.values():
            page = http.get(node.served.base_url + personal)
            assert page.status_code == 200 and "暗証番号" in page.text
