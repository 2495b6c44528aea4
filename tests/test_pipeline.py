"""Stored message -> final state, on SQLite and PostgreSQL: once, with its reason, never lost."""

from datetime import timedelta

from sqlmodel import Session, select

from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Customer, Event, Message, Outbox, RawMessage, Token, utcnow
from mailgate.pipeline import claim
from mailgate.pipeline.worker import process, process_pending


def blank_from(addr: str, msgid: str) -> bytes:
    return (
        (
            f"From: {addr}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <{msgid}>\r\n"
            "Content-Type: text/plain; charset=Shift_JIS\r\n\r\n"
        ).encode()
        + "登録".encode("cp932")
        + b"\r\n"
    )


def put(ctx: Context, raw: bytes, rcpt: str = "signup@shop.example") -> int:
    [mid] = store(ctx.engine, ctx.cfg.spool_dir, raw, [rcpt], mail_from=None, via="file").ids
    return mid


def get(ctx: Context, model, **where):  # type: ignore[no-untyped-def]
    with Session(ctx.engine) as s:
        stmt = select(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return list(s.exec(stmt))


def test_blank_mail_creates_a_pending_customer_and_queues_a_registration_link(db_ctx: Context) -> None:
    mid = put(db_ctx, blank_from("taro..yamada.@docomo.ne.jp", "b1@docomo.ne.jp"))
    assert process(db_ctx, mid) == "applied"
    [customer] = get(db_ctx, Customer)
    assert (customer.email, customer.status) == ("taro..yamada.@docomo.ne.jp", "pending")
    [token] = get(db_ctx, Token)
    assert token.purpose == "register" and token.message_id == mid
    [mail] = get(db_ctx, Outbox)
    assert mail.to_addr == "taro..yamada.@docomo.ne.jp"
    # The link is signed when the mail is sent (tests/outbound/test_links_at_send_time.py).
    [(placeholder, link)] = mail.links.items()
    assert link == ["register", token.id] and placeholder in mail.body
    assert mail.in_reply_to == "b1@docomo.ne.jp"
    [msg] = get(db_ctx, Message)
    assert msg.reason == "registration link sent"
    assert msg.decision["intent"]["rule"] == "signup/blank-mail"
    assert msg.decision["rules_version"] == db_ctx.rules.version
    kinds = [e.kind for e in get(db_ctx, Event, message_id=mid)]
    assert kinds == ["customer_pending", "link_issued", "mail_queued", "message_applied"]


def test_processing_the_same_message_again_changes_nothing(db_ctx: Context) -> None:
    mid = put(db_ctx, blank_from("a@example.jp", "b2@example.jp"))
    assert process(db_ctx, mid) == "applied"
    assert process(db_ctx, mid) is None
    assert process_pending(db_ctx) == 0
    assert len(get(db_ctx, Outbox)) == 1 and len(get(db_ctx, Token)) == 1


def test_a_registered_customer_gets_a_settings_link(db_ctx: Context) -> None:
    with Session(db_ctx.engine) as s:
        hanako = Customer(
            email="Hanako@Example.jp", email_key="hanako@example.jp", status="active", name="花子"
        )
        s.add(hanako)
        s.flush()
        s.add(Token(purpose="login", customer_id=hanako.id))  # her bookmark
        s.commit()
    mid = put(db_ctx, blank_from("hanako@example.jp", "b3@example.jp"))
    process(db_ctx, mid)
    [token] = get(db_ctx, Token, purpose="settings")
    [mail] = get(db_ctx, Outbox)
    assert list(mail.links.values()) == [["settings", token.id]] and "花子" in mail.body
    assert len(get(db_ctx, Customer)) == 1


def test_replies_to_one_mailbox_are_capped_per_hour(db_ctx: Context) -> None:
    """One mailbox however it is spelt (tests/pipeline/test_reply_caps.py has the other limits)."""
    limit = db_ctx.cfg.mail.replies_per_hour
    for i in range(limit + 2):
        process(db_ctx, put(db_ctx, blank_from(f"spray+{i}@example.jp", f"s{i}@example.jp")))
    assert len(get(db_ctx, Outbox)) == limit
    suppressed = get(db_ctx, Event, kind="reply_suppressed")
    assert len(suppressed) == 2
    last = get(db_ctx, Message)[-1]
    assert last.state == "held" and "reply suppressed" in last.reason


def test_the_cap_counts_only_the_last_hour(db_ctx: Context) -> None:
    limit = db_ctx.cfg.mail.replies_per_hour
    earlier = utcnow() - timedelta(hours=2)
    for i in range(limit):
        process(db_ctx, put(db_ctx, blank_from(f"b+{i}@example.jp", f"o{i}@example.jp")), now=earlier)
    process(db_ctx, put(db_ctx, blank_from("b@example.jp", "new@example.jp")))
    assert len(get(db_ctx, Outbox)) == limit + 1


def test_a_bounce_is_ignored_with_its_reason_and_gets_no_reply(db_ctx: Context) -> None:
    raw = (
        b"Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.jp\r\nTo: signup@shop.example\r\n"
        b"Subject: Undelivered\r\n\r\nsorry\r\n"
    )
    mid = put(db_ctx, raw)
    assert process(db_ctx, mid) == "ignored"
    [msg] = get(db_ctx, Message)
    assert "RFC 3834" in msg.reason
    assert get(db_ctx, Outbox) == [] and get(db_ctx, Customer) == []


def test_mail_no_rule_takes_is_held(db_ctx: Context) -> None:
    mid = put(db_ctx, blank_from("a@example.jp", "h1@example.jp"), rcpt="postmaster@shop.example")
    assert process(db_ctx, mid) == "held"
    assert "no rule" in get(db_ctx, Message)[0].reason


def test_an_exception_fails_the_message_and_keeps_the_traceback(db_ctx: Context) -> None:
    mid = put(db_ctx, blank_from("a@example.jp", "f1@example.jp"))
    with Session(db_ctx.engine) as s:  # the raw bytes vanished: an operator must see why
        msg = s.get(Message, mid)
        if msg.spool_path.startswith("db:"):
            s.delete(s.get(RawMessage, msg.spool_path.removeprefix("db:")))
            s.commit()
        else:
            (db_ctx.cfg.spool_dir / msg.spool_path).unlink()
    assert process(db_ctx, mid) == "failed"
    [msg] = get(db_ctx, Message)
    assert "FileNotFoundError" in msg.reason and "Traceback" in msg.traceback
    assert get(db_ctx, Outbox) == [] and get(db_ctx, Customer) == []


def die_holding(ctx: Context, message_id: int) -> None:
    """A worker takes the message and dies: its lease is already over."""
    assert claim.take_one(ctx.engine, message_id, "worker@dead", lease=timedelta(0))


def test_a_message_in_work_at_three_node_deaths_is_processed_normally(db_ctx: Context) -> None:
    """A node SIGKILLed around a good message (a deploy, a power cut) is not the message's fault."""
    mid = put(db_ctx, blank_from("a@example.jp", "p1@example.jp"))
    for _ in range(3):
        die_holding(db_ctx, mid)
        assert claim.reap(db_ctx.engine).set_aside == []
    assert process_pending(db_ctx) == 1
    [msg] = get(db_ctx, Message)
    assert (msg.state, msg.lost_leases, msg.strikes, msg.claimed_by) == ("applied", 3, 0, None)
    assert len(get(db_ctx, Outbox)) == 1


def test_a_message_in_work_at_every_one_of_many_node_deaths_is_set_aside(db_ctx: Context) -> None:
    """What kills the whole node (not only its reader) cannot be told from a kill from outside: only
    many more lost leases than reader deaths set it aside."""
    mid = put(db_ctx, blank_from("a@example.jp", "p2@example.jp"))
    for _ in range(claim.MAX_LOST_LEASES - 1):
        die_holding(db_ctx, mid)
        assert claim.reap(db_ctx.engine).set_aside == []
    die_holding(db_ctx, mid)
    assert process_pending(db_ctx) == 0
    [msg] = get(db_ctx, Message)
    assert msg.state == "failed" and f"lost its lease {claim.MAX_LOST_LEASES} times" in msg.reason
    assert (msg.lost_leases, msg.strikes, msg.claimed_by) == (claim.MAX_LOST_LEASES, 0, None)
    assert get(db_ctx, Outbox) == []


def test_a_message_interrupted_once_is_processed_on_the_next_pass(db_ctx: Context) -> None:
    mid = put(db_ctx, blank_from("a@example.jp", "r1@example.jp"))
    die_holding(db_ctx, mid)
    assert process_pending(db_ctx) == 1
    [msg] = get(db_ctx, Message)
    assert (msg.state, msg.lost_leases, msg.strikes, msg.attempts) == ("applied", 1, 0, 2)
    assert len(get(db_ctx, Outbox)) == 1
    assert [e.detail["owner"] for e in get(db_ctx, Event, kind="message_lease_lost")] == ["worker@dead"]


def test_a_message_held_by_a_live_worker_is_not_taken(db_ctx: Context) -> None:
    mid = put(db_ctx, blank_from("a@example.jp", "l1@example.jp"))
    assert claim.take_one(db_ctx.engine, mid, "worker@alive")
    assert process(db_ctx, mid) is None
    assert process_pending(db_ctx) == 0
    [msg] = get(db_ctx, Message)
    assert (msg.state, msg.claimed_by) == ("processing", "worker@alive")
