"""A blank mail (空メール) to the signup address: a registration link for a new or pending customer, a
settings link for a registered one. Anyone can put anyone's address in From, so what this sends is
limited: the reply caps (outbound/caps.py), new customers per client and in all, and a link already
mailed and still valid is mailed again (the same link: carriers' filters make people fix 受信設定
and try again) at most a few times a day, some minutes apart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mailgate import audit, db, tokens
from mailgate.audit import Actor
from mailgate.config import Config
from mailgate.ledger.customers import by_email, has_bookmark, personal_link
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.results import Result, Status
from mailgate.links import Link
from mailgate.models import Customer, CustomerStatus, Message, Outbox, Token
from mailgate.outbound import caps, hour_tally
from mailgate.outbound.caps import HOUR, client_of
from mailgate.outbound.hour_tally import Window
from mailgate.write_now import add_now

# A link this close to its end is not mailed again: a new one is.
FRESH = timedelta(hours=1)
DAY = timedelta(days=1)
WHAT = {"register": "registration link", "settings": "settings link"}
NEW_CUSTOMERS = "new_customers"  # counts kept in a transaction (outbound/caps.py Counts)


class Unknown:
    """Not looked up yet (a customer or None is what a lookup found)."""


UNKNOWN = Unknown()


def signup_mail(
    session: Session,
    env: LedgerEnv,
    email: str,
    actor: Actor,
    now: datetime,
    *,
    found: Customer | Unknown | None = UNKNOWN,
) -> Result:
    """CREATED: a link was mailed; ALREADY: the live link was mailed a moment ago or often enough today
    (nothing sent); SUPPRESSED: a limit said no (nothing created or sent: the message is held).
    `found`: the address's customer, looked up in this transaction a moment ago (SQLite only: on
    PostgreSQL the lookup must come after the lock below)."""
    db.serialize(session, f"customer:email:{email.lower()}")  # two blank mails at once: one customer
    customer = by_email(session, email) if isinstance(found, Unknown) else found
    purpose = "settings" if customer and customer.status == CustomerStatus.ACTIVE else "register"
    token = live_link(session, customer.id, purpose, now) if customer and customer.id else None
    if token is not None:
        wait = _too_soon(session, env.cfg, token.customer_id, f"{purpose}_link", now)
        if wait is not None:
            return Result(Status.ALREADY, f"{WHAT[purpose]} {wait}")
    why = env.mailer.suppressed(session, email, now, actor)
    if why is not None:
        return _suppressed(session, actor, customer, why)
    if customer is None or customer.status == CustomerStatus.DELETED:
        client = client_of(session, actor.message_id)
        why = new_customers_refusal(session, env.cfg, client, now)
        if why is not None:
            return _suppressed(session, actor, customer, why)
        if customer is None:
            customer = Customer(email=email, email_key=email.lower(), created_at=now)
            if actor.message_id is not None:  # its registration link, issued below, counts
                caps.added(session, NEW_CUSTOMERS, now, ("client", client), ("all", None))
            add_now(session, customer)
        else:  # a deleted customer starts again from scratch (its old link may count already)
            customer.status = CustomerStatus.PENDING
            db.forget_kept(session, NEW_CUSTOMERS)
            session.flush()
        audit.by(session, "customer_pending", actor, customer_id=customer.id)
    assert customer.id is not None
    links = env.cfg.links
    hours = links.settings_hours if purpose == "settings" else links.register_hours
    if token is None:
        token = tokens.issue(session, purpose, customer.id, now, hours=hours, message_id=actor.message_id)
    expires = tokens.aware(token.expires_at)
    left = int((expires - now) / HOUR) if expires else int(hours)
    audit.record(
        session,
        "link_issued" if token.message_id == actor.message_id else "link_mailed_again",
        actor.name,
        customer_id=customer.id,
        message_id=actor.message_id,
        token_id=token.id,
        purpose=purpose,
    )
    # The bookmark was revoked after too many wrong PINs (logins.py): the owner gets a fresh one.
    bookmark = (
        personal_link(session, customer, now)
        if purpose == "settings" and not has_bookmark(session, customer)
        else None
    )
    sent = env.mailer.enqueue(
        session,
        to=email,
        template=f"{purpose}_link",
        now=now,
        actor=actor,
        customer_id=customer.id,
        customer=customer,
        url=Link(purpose, token.id or 0),
        bookmark=bookmark,
        hours=left,
        checked=True,
    )
    if sent is None:  # the address cannot be answered (checked above: no limit says no)
        return _suppressed(session, actor, customer, "a reply limit")
    return Result(Status.CREATED, f"{WHAT[purpose]} sent")


def _suppressed(session: Session, actor: Actor, customer: Customer | None, why: str) -> Result:
    customer_id = customer.id if customer else None
    audit.by(session, "reply_suppressed", actor, customer_id=customer_id, why=why)
    return Result(Status.SUPPRESSED, f"reply suppressed: {why}")


def new_customers_refusal(session: Session, cfg: Config, client: str | None, now: datetime) -> str | None:
    """Why no new customer may be made now: counted by the registration links blank mails brought."""
    limits = cfg.mail
    counts = caps.kept_counts(session, NEW_CUSTOMERS, now)
    most = limits.new_customers_per_client_hour
    if client is not None and counts.reached(("client", client), most, *_new_customers(session, now, client)):
        return f"more than {most} new customers from client {client} in an hour"
    if counts.reached(("all", None), limits.new_customers_total_hour, *_new_customers(session, now, None)):
        return f"more than {limits.new_customers_total_hour} new customers in an hour"
    return None


def _new_customers(
    session: Session, now: datetime, client: str | None
) -> tuple[Callable[[], int], Callable[[], int | None]]:
    """Customers a registration link brought by a blank mail (from `client`, if one is named) made:
    counted, and bounded."""
    window, params = _LINKS[client is not None], {"client": client}
    return hour_tally.asked(session, (NEW_CUSTOMERS, client), window, now - HOUR, params)


def _links(by_client: bool) -> Window:
    rows = select(Token.customer_id).where(
        Token.purpose == "register",
        col(Token.message_id).is_not(None),
        col(Token.created_at) > bindparam("since"),
    )
    if by_client:
        rows = rows.join(Message, col(Message.id) == col(Token.message_id))
        # Counted from the hour's links: through the index on the client, a relay's every message ever.
        rows = rows.where(db.unindexed(col(Message.client)) == bindparam("client"))
    return Window(rows, Token.customer_id, Token.id, Token.created_at)  # type: ignore[arg-type]


_LINKS = {by_client: _links(by_client) for by_client in (False, True)}


def live_link(session: Session, customer_id: int, purpose: str, now: datetime) -> Token | None:
    """The newest link of `purpose` a blank mail brought, unused and valid for a while yet."""
    stmt = (
        select(Token)
        .where(
            Token.customer_id == customer_id,
            Token.purpose == purpose,
            col(Token.message_id).is_not(None),
            col(Token.used_at).is_(None),
            col(Token.revoked_at).is_(None),
            col(Token.expires_at) > now + FRESH,
        )
        .order_by(col(Token.id).desc())
    )
    return session.exec(stmt).first()


def _too_soon(session: Session, cfg: Config, customer_id: int, template: str, now: datetime) -> str | None:
    """Why the live link is not mailed again now ("sent at 10:02 and still valid: ..."); None: mail it."""
    stmt = (
        select(Outbox.created_at)
        .where(
            Outbox.customer_id == customer_id, Outbox.template == template, col(Outbox.created_at) > now - DAY
        )
        .order_by(col(Outbox.created_at))
    )
    mailed = [tokens.aware(t) for t in session.exec(stmt)]
    if not mailed:
        return None
    last = mailed[-1]
    assert last is not None
    at = last.astimezone(cfg.tz).strftime("%H:%M")
    if len(mailed) >= cfg.mail.link_mails_per_day:
        return f"sent at {at} and still valid: not sent again (sent {len(mailed)} times in a day)"
    again = last + timedelta(minutes=cfg.mail.link_resend_minutes)
    if now < again:
        return f"sent at {at} and still valid: not sent again before {again.astimezone(cfg.tz):%H:%M}"
    return None
