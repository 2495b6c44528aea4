"""「待つ」 (or キャンセル待ち) in reply to a list that said 「ちょうど埋まりました」: the customer joins the
waitlist of the time that was taken (ledger/waitlist.py) and gets a mail saying so. The reply is tied
to its list like a number is (reply_keys.py); a reply tied to no such list, or a time that is free or
past by now, gets a fresh list saying why."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.ledger import mail_booking, waitlist
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.mail_booking import Ask
from mailgate.ledger.results import Result, Status
from mailgate.models import ReplyKey


def wait(
    session: Session, env: LedgerEnv, customer_id: int, key_id: int | None, actor: Actor, now: datetime
) -> Result:
    key = session.get(ReplyKey, key_id) if key_id is not None else None
    full = (key.ask or {}).get("full") if key is not None else None
    if key is None or not full:
        ask = Ask(customer_id, notes=(("no_wait", ""),), owed=key is not None)
        return mail_booking.offer(session, env, ask, actor, now)
    start = datetime.fromisoformat(full["start"])
    cmd = waitlist.Join(customer_id, full.get("menu") or key.menu, start, full.get("staff"), notify=True)
    result = waitlist.join(session, env, cmd, actor, now)
    if result.status in (Status.CREATED, Status.ALREADY):
        return result
    mail_booking.offer(session, env, Ask.again(key, (result.code or "refused", "")), actor, now)
    return result
