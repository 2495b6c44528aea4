"""Queue outgoing mail in the caller's transaction, capped per address so nobody can spray mail."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from mailgate import audit
from mailgate.context import Context
from mailgate.models import Message, Outbox
from mailgate.templating import render_mail


def recent_count(session: Session, to_key: str, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.to_key == to_key, col(Outbox.created_at) > since)
    )
    return int(session.exec(stmt).one())


def enqueue(
    session: Session,
    ctx: Context,
    *,
    to: str,
    template: str,
    now: datetime,
    actor: str,
    cause: Message | None = None,
    customer_id: int | None = None,
    capped: bool = True,
    **context: object,
) -> Outbox | None:
    """Render and queue a mail; None (and an audit event) when the address hit its hourly cap.
    capped=False for the shop's own staff alerts: a busy morning must not silence them."""
    key = to.lower()
    limit = ctx.cfg.mail.replies_per_hour
    if capped and recent_count(session, key, now - timedelta(hours=1)) >= limit:
        audit.record(
            session,
            "reply_suppressed",
            actor,
            customer_id=customer_id,
            message_id=cause.id if cause else None,
            template=template,
            why=f"more than {limit} mails to this address in an hour",
        )
        return None
    subject, body = render_mail(ctx.mail_env, template, shop=ctx.cfg.shop, **context)
    domain = ctx.cfg.sender.rpartition("@")[2]
    refs = (
        cause.header_message_id if cause and not cause.header_message_id.endswith("@derived.mailgate") else ""
    )
    row = Outbox(
        to_addr=to,
        to_key=key,
        template=template,
        subject=subject,
        body=body,
        header_message_id=f"{uuid.uuid4().hex}@{domain}",
        in_reply_to=refs,
        references=refs,
        cause_message_id=cause.id if cause else None,
        customer_id=customer_id,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "mail_queued",
        actor,
        customer_id=customer_id,
        message_id=cause.id if cause else None,
        outbox_id=row.id,
        template=template,
        to=to,
    )
    return row
