"""Delivery reports on SQLite and PostgreSQL: a report to bounce+TOKEN@ is matched to the mail it is
about by the signed token; a hard bounce marks the customer unreachable (applied, with the reason),
soft ones do after [mail] soft_bounces in the window; a forged, unsigned or unmatched report, a delay
warning and the corpus's report to the signup address stay ignored. Automatic mail to a marked
address is kept as suppressed with the reason; mail answering the customer's own act still goes, and
their next mail clears the mark."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mailgate import config, db
from mailgate.audit import SYSTEM, Actor
from mailgate.cli import app
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.links import Link
from mailgate.models import Customer, CustomerStatus, Message, Outbox, OutboxState
from mailgate.outbound import return_path
from mailgate.pipeline.erasure import erase_customer
from mailgate.pipeline.retention import purge
from mailgate.pipeline.worker import process
from tests.conftest import write_config
from tests.privacy import where_found

T = TypeVar("T")
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SAMPLES = Path(__file__).parents[1] / "mail" / "bounces"
CORPUS = Path(__file__).parents[1] / "corpus"
TARO = "taro..yamada.@docomo.ne.jp"

_sequence = iter(range(10**6))


def shop(tmp_path: Path, db_url: str, mail: str = "") -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", db_url=db_url, mail=mail)))


@pytest.fixture
def ctx(tmp_path: Path, db_url: str) -> Context:
    return shop(tmp_path, db_url)


def customer(ctx: Context, email: str = TARO) -> int:
    with db.transaction(ctx.engine) as s:
        row = Customer(email=email, email_key=email.lower(), status=CustomerStatus.ACTIVE, name="山田太郎")
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def automatic_mail(ctx: Context, customer_id: int, actor: Actor = SYSTEM, at: datetime = T0) -> Outbox:
    """A mail nobody asked for just now (as a reminder is): the system sends it."""
    with db.transaction(ctx.engine) as s:
        found = s.get(Customer, customer_id)
        assert found is not None
        row = ctx.mailer.enqueue(
            s, to=found.email, template="bookmark", now=at, actor=actor, customer_id=customer_id,
            capped=False, customer=found, url=Link("login", 1),
        )  # fmt: skip
        assert row is not None
        s.expunge(row)
        return row


def report(ctx: Context, name: str, rcpt: str, at: datetime = T0) -> Message:
    """A delivery report stored as if by SMTP to `rcpt`, processed at `at`."""
    raw = (SAMPLES / name).read_bytes() if "/" not in name else (CORPUS / name).read_bytes()
    raw = raw.replace(b"Message-ID: <", f"Message-ID: <{next(_sequence)}.".encode(), 1)
    [mid] = store(
        ctx.engine, ctx.cfg.spool_dir, raw, [rcpt], mail_from="", via="smtp", client="192.0.2.25"
    ).ids
    process(ctx, mid, now=at)
    return fetched(ctx, Message, mid)


def bounce_rcpt(ctx: Context, outbox_id: int) -> str:
    return return_path.address(ctx.cfg, ctx.signer.secrets, outbox_id)


def fetched(ctx: Context, model: type[T], key: int | None) -> T:
    with Session(ctx.engine) as s:
        found = s.get(model, key)
        assert found is not None
        return found


def get_customer(ctx: Context, customer_id: int) -> Customer:
    return fetched(ctx, Customer, customer_id)


def test_a_hard_carrier_bounce_marks_the_customer_unreachable(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    msg = report(ctx, "docomo-unknown-user.eml", bounce_rcpt(ctx, sent.id or 0))
    assert msg.state == "applied"
    assert msg.reason.startswith(f"customer {taro} unreachable: hard bounce 5.1.1 (docomo)")
    marked = get_customer(ctx, taro)
    assert marked.unreachable_since == T0
    assert "5.1.1" in marked.unreachable_reason and "@" not in marked.unreachable_reason
    assert fetched(ctx, Outbox, sent.id).last_error.startswith("bounced: hard bounce 5.1.1")


def forged(ctx: Context, how: str, outbox_id: int) -> str:
    """A return path a forger could write for our mail `outbox_id`."""
    signature = return_path.token(ctx.signer.secrets, outbox_id).split("-")[1]
    return {
        "guessed": f"bounce+{outbox_id}-000000000000@shop.example",
        "moved": f"bounce+{outbox_id + 1}-{signature}@shop.example",  # another row, this row's signature
        "none": "bounce@shop.example",
        "missing": bounce_rcpt(ctx, 9999),  # signed by us, but no such row (erased, or never)
    }[how]


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("guessed", "is not one we signed: forged or not ours"),
        ("moved", "is not one we signed"),
        ("none", "without a token"),
        ("missing", "no outgoing mail 9999"),
    ],
)
def test_a_report_that_names_no_mail_of_ours_is_ignored(ctx: Context, how: str, why: str) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    msg = report(ctx, "au-ezweb-disabled.eml", forged(ctx, how, sent.id or 0))
    assert msg.state == "ignored" and why in msg.reason
    assert get_customer(ctx, taro).unreachable_since is None


def test_the_token_is_read_in_any_case(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    msg = report(ctx, "softbank-unknown.eml", bounce_rcpt(ctx, sent.id or 0).upper())
    assert msg.state == "applied"
    assert get_customer(ctx, taro).unreachable_since == T0


def test_soft_bounces_mark_the_customer_after_the_limit_within_the_window(
    tmp_path: Path, db_url: str
) -> None:
    ctx = shop(tmp_path, db_url, mail="soft_bounces = 3\nsoft_bounce_days = 14")
    taro = customer(ctx)
    days = [0, 20, 25, 30]  # the first falls out of the window before the third arrives
    states = []
    for day in days:
        sent = automatic_mail(ctx, taro, at=T0 + timedelta(days=day))
        msg = report(
            ctx, "rfc3464-mailbox-full.eml", bounce_rcpt(ctx, sent.id or 0), T0 + timedelta(days=day)
        )
        states.append((msg.state, get_customer(ctx, taro).unreachable_since is not None))
    assert states == [("applied", False), ("applied", False), ("applied", False), ("applied", True)]
    marked = get_customer(ctx, taro)
    assert marked.unreachable_reason.startswith("3 soft bounces in 14 days, the last: soft bounce 5.2.2")
    assert marked.unreachable_since == T0 + timedelta(days=30)


def test_a_delay_warning_changes_nothing(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    msg = report(ctx, "rfc3464-delayed.eml", bounce_rcpt(ctx, sent.id or 0))
    assert msg.state == "ignored" and "a delay warning" in msg.reason
    assert get_customer(ctx, taro).soft_bounces == 0


def test_a_report_to_the_signup_address_stays_ignored_as_the_corpus_says(ctx: Context) -> None:
    gone = customer(ctx, "gone@example.jp")
    automatic_mail(ctx, gone)
    msg = report(ctx, "noise/bounce-dsn.eml", "signup@shop.example")
    expected = json.loads((CORPUS / "noise" / "bounce-dsn.expected.json").read_text())
    assert (msg.state, expected["action"], expected["_rcpt"]) == ("ignored", "ignore", "signup@shop.example")
    assert get_customer(ctx, gone).unreachable_since is None


def test_automatic_mail_to_an_unreachable_address_is_kept_suppressed_with_the_reason(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    report(ctx, "docomo-unknown-user.eml", bounce_rcpt(ctx, sent.id or 0))
    later = automatic_mail(ctx, taro, at=T0 + timedelta(days=1))
    assert later.state == OutboxState.SUPPRESSED
    assert later.last_error.startswith(f"suppressed: {TARO} unreachable since 2026-11-28 (hard bounce 5.1.1")
    by_operator = automatic_mail(ctx, taro, actor=Actor.operator("tanaka"))
    assert by_operator.state == OutboxState.SUPPRESSED
    # What answers the customer's own act through a link still goes.
    through_link = automatic_mail(ctx, taro, actor=Actor("link:login:1"))
    assert through_link.state == OutboxState.QUEUED


def test_a_mail_from_the_customer_clears_the_mark(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    report(ctx, "docomo-unknown-user.eml", bounce_rcpt(ctx, sent.id or 0))
    raw = f"From: {TARO}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <again@docomo.ne.jp>\r\n\r\n"
    [mid] = store(
        ctx.engine, ctx.cfg.spool_dir, raw.encode(), ["signup@shop.example"], mail_from=TARO, via="smtp"
    ).ids
    assert process(ctx, mid, now=T0 + timedelta(days=2)) == "applied"
    assert get_customer(ctx, taro).unreachable_since is None
    assert automatic_mail(ctx, taro, at=T0 + timedelta(days=3)).state == OutboxState.QUEUED


def test_customers_unreachable_lists_them_with_reason_and_date(ctx: Context) -> None:
    taro = customer(ctx)
    customer(ctx, "hanako@example.jp")
    sent = automatic_mail(ctx, taro)
    report(ctx, "docomo-unknown-user.eml", bounce_rcpt(ctx, sent.id or 0))
    cfg_path = str(ctx.cfg.source)
    runner = CliRunner()
    text = runner.invoke(app, ["--config", cfg_path, "customers", "--unreachable"])
    assert text.exit_code == 0, text.output
    [line] = [row for row in text.output.splitlines() if f"#{taro}" in row]
    assert "2026-11-28 18:00:00" in line and TARO in line and "5.1.1" in line
    assert "hanako@example.jp" not in text.output and "times in Asia/Tokyo" in text.output
    listed = runner.invoke(app, ["--config", cfg_path, "customers", "--unreachable", "--json"])
    [row] = json.loads(listed.output)
    assert (row["id"], row["email"]) == (taro, TARO)
    assert row["unreachable_reason"].startswith("hard bounce 5.1.1 (docomo)")
    with Session(ctx.engine) as s:
        assert len(s.exec(select(Customer).where(col(Customer.unreachable_since).is_not(None))).all()) == 1


def test_erasing_the_customer_takes_their_bounce_reports_along(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    report(ctx, "docomo-unknown-user.eml", bounce_rcpt(ctx, sent.id or 0))
    assert where_found(ctx, [TARO])  # the report quotes the address
    erase_customer(ctx, taro, "operator:test")
    assert where_found(ctx, [TARO, "山田太郎"]) == {}


def test_a_replayed_soft_bounce_counts_once(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    msg = report(ctx, "rfc3464-mailbox-full.eml", bounce_rcpt(ctx, sent.id or 0))
    done = CliRunner().invoke(app, ["--config", str(ctx.cfg.source), "replay", str(msg.id)])
    assert done.exit_code == 0, done.output
    assert fetched(ctx, Message, msg.id).reason.endswith("this report was applied before")
    assert get_customer(ctx, taro).soft_bounces == 1


def test_suppressed_mail_is_purged_like_sent_mail(ctx: Context) -> None:
    taro = customer(ctx)
    sent = automatic_mail(ctx, taro)
    report(ctx, "docomo-unknown-user.eml", bounce_rcpt(ctx, sent.id or 0))
    kept = automatic_mail(ctx, taro, at=T0 + timedelta(days=1))
    days = ctx.cfg.retention.raw_days
    assert kept.id not in purge(ctx, T0 + timedelta(days=days)).outbox  # a day short
    assert kept.id in purge(ctx, T0 + timedelta(days=days + 2)).outbox
    row = fetched(ctx, Outbox, kept.id)
    assert (row.state, row.to_addr, row.body) == (OutboxState.SUPPRESSED, "", "")
