"""A waitlist offer claimed by its link (/w/...): the held seat's tentative booking is confirmed while
the hold lasts, and the entry is closed as claimed. After the hold ran out the claim is refused (the
expire job passes the seat on, whether or not it ran yet)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.ledger import fitting, waitlist
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.results import Result, Status


def claim(session: Session, env: LedgerEnv, booking_id: int, actor: Actor, now: datetime) -> Result:
    result = fitting.confirm(session, env, booking_id, actor, now)
    if result.status == Status.CONFIRMED:
        waitlist.claimed(session, booking_id, now)
    return result
