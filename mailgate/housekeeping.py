"""Periodic work: deferred notices that waited too long, the evening inquiry digest."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate.context import Context
from mailgate.ledger import deferred, inquiries
from mailgate.models import Event, utcnow

log = logging.getLogger("mailgate.housekeeping")


def expire_deferred(ctx: Context, now: datetime | None = None) -> list[int]:
    with Session(ctx.engine) as session:
        held = deferred.expire(session, ctx, now or utcnow())
        session.commit()
    for message_id in held:
        log.warning("msg=%s held: the booking it waits for never arrived", message_id)
    return held


def evening_digest(ctx: Context, now: datetime | None = None) -> int:
    """Today's unbooked inquiries to staff, once a day (a restart after the hour does not send twice)."""
    now = now or utcnow()
    day = now.astimezone(ctx.cfg.tz).date()
    with Session(ctx.engine) as session:
        sent = session.exec(select(Event).where(Event.kind == "digest_sent").order_by(col(Event.id).desc()))
        if any(e.detail.get("day") == day.isoformat() for e in sent.fetchmany(10)):
            return 0
        count = inquiries.send_digest(session, ctx, day, now)
        session.commit()
    if count:
        log.info("inquiry digest for %s: %s inquiries", day, count)
    return count
