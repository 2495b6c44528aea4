"""Alerts for staff ([shop] staff_alerts), grouped so a busy hour is not a flood of mail: at most one
mail per address and interval ([shop] staff_alert_minutes), none lost.

An alert is rendered when it is raised and waits as a pending row. The first alert of a quiet interval
goes at once, in the transaction that raised it; later ones wait for the next interval, whose mail
(sent by the periodic job, or by the next alert) lists everything pending. The interval's claim is a
job_run row (unique per job and period), so one node sends it however many run; the pending rows are
taken under one lock and deleted in the transaction that queues their mail, so each is sent once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from mailgate import audit, db, leases
from mailgate.audit import SYSTEM, Actor
from mailgate.ledger.env import LedgerEnv
from mailgate.models import StaffAlert
from mailgate.templating import render_mail

JOB = "staff_alerts"


def raise_alert(
    session: Session,
    env: LedgerEnv,
    template: str,
    actor: Actor,
    now: datetime,
    *,
    customer_id: int | None = None,
    **context: object,
) -> None:
    """Render `template` as an alert for staff and send it now if this interval has had no alert mail."""
    if not env.cfg.shop.staff_alerts:
        return
    subject, body = render_mail(env.mailer.templates, template, shop=env.cfg.shop, **context)
    session.add(
        StaffAlert(
            created_at=now,
            subject=subject,
            body=body,
            customer_id=customer_id,
            message_id=actor.message_id,
        )
    )
    session.flush()
    send_pending(session, env, now)


def period(now: datetime, minutes: int) -> str:
    """The interval `now` falls in, as its start (UTC)."""
    step = minutes * 60
    start = datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=UTC)
    return f"{start.isoformat()}/{minutes}m"


def has_pending(session: Session) -> bool:
    return bool(session.exec(select(func.count()).select_from(StaffAlert)).one())


def send_pending(session: Session, env: LedgerEnv, now: datetime) -> int:
    """Everything pending in one mail per staff address, unless this interval already had its mail.
    Returns how many alerts went out."""
    # One at a time across nodes: two nodes in different intervals (their clocks differ) must not
    # both take the same alerts.
    db.serialize(session, JOB)
    pending = list(session.exec(select(StaffAlert).order_by(col(StaffAlert.id))))
    minutes = env.cfg.shop.staff_alert_minutes
    if not pending or not env.cfg.shop.staff_alerts:
        return 0
    if minutes and leases.claim_period(session, JOB, period(now, minutes)) is None:
        return 0
    to_staff(session, env, "staff_alerts", now, alerts=pending)
    audit.by(
        session, "staff_alerted", SYSTEM, alerts=len(pending), to=list(env.cfg.shop.staff_alerts), at=now
    )
    for alert in pending:
        session.delete(alert)
    session.flush()
    return len(pending)


def to_staff(session: Session, env: LedgerEnv, template: str, now: datetime, **context: object) -> None:
    """Queue `template` to every [shop] staff_alerts address: never capped (a busy morning must not
    silence the shop's own staff) and answering nobody (no In-Reply-To)."""
    for to in env.cfg.shop.staff_alerts:
        env.mailer.enqueue(
            session, to=to, template=template, now=now, actor=SYSTEM, capped=False, thread=False, **context
        )
