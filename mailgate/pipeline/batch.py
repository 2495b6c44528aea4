"""The outcomes of several read messages recorded in one transaction: one commit (on SQLite one
fsync) for all of them instead of one each. A message that raises is rolled back alone and the
others' work stays; it is failed after the commit, as it would have been on its own. For that each
message is recorded in its own savepoint, except on SQLite's first try: a savepoint each cost a
tenth of the recording, and a message raises seldom, so the batch goes without them and is done
again with them when one does. When the database itself refuses (locked, gone, a full disk, a
deadlock between nodes) nothing of the batch is kept and each message is tried again on its own,
where the worker's usual rules for errors of our own apply."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from mailgate import audit, db
from mailgate.context import Context
from mailgate.faults import is_our_own
from mailgate.ledger import bookings
from mailgate.models import Message, utcnow
from mailgate.outbound import caps
from mailgate.pipeline import claim, deferred, known
from mailgate.pipeline.dispatch import NOTICES, WRITES_IN, apply
from mailgate.rules.intent import Intent
from mailgate.write_now import save_now

log = logging.getLogger("mailgate.pipeline")
# How long one batch may hold the database (on SQLite the only writer's lock; mail being stored
# meanwhile waits for it). At least one message is recorded, however long it takes.
SECONDS = 0.3
# How long it holds it before giving way to a writer of its process that waits (intake's batch): a
# batch cut at every message (an fsync and a turn each) let a steady stream of mail starve the worker.
YIELD_AFTER = 0.05


@dataclass(frozen=True)
class Done:
    state: str
    reason: str
    from_addr: str | None


@dataclass
class Batch:
    recorded: dict[int, tuple[Done, Intent]] = field(default_factory=dict)
    failed: dict[int, tuple[Exception, str]] = field(default_factory=dict)  # the error, its traceback
    alone: list[int] = field(default_factory=list)  # to be recorded one at a time
    left: list[int] = field(default_factory=list)  # not reached in time or locked out: the next batch


def lost(message_id: int) -> None:
    log.warning("msg=%s: lease lost before its outcome was recorded; left to its new owner", message_id)


def _refused(exc: BaseException) -> bool:
    """The database's own complaint, not the message's: the transaction cannot go on."""
    return isinstance(exc, DBAPIError) or is_our_own(exc)


class _Raised(Exception):
    """A message raised in a batch recorded without savepoints: it is done again with them."""


def record(ctx: Context, owner: str, intents: dict[int, Intent], seconds: float = SECONDS) -> Batch:
    """Record each message's outcome, in the order given, in one transaction; after `seconds` the
    rest is left for the next one."""
    if not intents:
        return Batch()
    # PostgreSQL: a message left for a lock taken out of order (another node's) rolls back alone.
    if not db.is_postgres(ctx.engine):
        try:
            return _record(ctx, owner, intents, seconds, savepoints=False)
        except _Raised:
            pass
    return _record(ctx, owner, intents, seconds, savepoints=True)


def _record(ctx: Context, owner: str, intents: dict[int, Intent], seconds: float, savepoints: bool) -> Batch:
    result = Batch()
    until = time.monotonic() + seconds
    # One time for the whole batch, as for one commit: what it counts (the reply limits) is then
    # counted once for all its messages.
    now = utcnow()
    try:
        with db.transaction(ctx.engine) as s:
            audit.gather(s)
            held = claim.hold_all(s, list(intents), owner)
            courteous = time.monotonic() + YIELD_AFTER  # from when it holds the lock
            senders = [i.customer.get("email", "") for i in intents.values() if i.action in WRITES_IN]
            caps.count_mailboxes(s, now, senders)  # the replies' per-mailbox counts, in one query
            _notices(s, intents.values())
            for n, (message_id, intent) in enumerate(intents.items()):
                if n and _enough(until, courteous, s):
                    result.left.append(message_id)
                    continue
                try:
                    # The first message waits for the locks it needs; the others only take what is
                    # free or in order (two nodes' batches booking the same days in another order).
                    apart = s.begin_nested() if savepoints else nullcontext()
                    with db.locks_in_order(s, strict=n > 0), apart:
                        done = _one(s, ctx, held.get(message_id), message_id, intent, now)
                except db.OutOfOrder:
                    if not savepoints:
                        raise _Raised from None
                    result.left.append(message_id)
                    continue
                except Exception as exc:
                    if _refused(exc):
                        raise
                    if not savepoints:
                        raise _Raised from exc
                    result.failed[message_id] = (exc, traceback.format_exc())
                    continue
                if done is not None:
                    result.recorded[message_id] = (done, intent)
    except _Raised:
        raise
    except Exception as exc:
        log.warning("recording %s outcomes together failed (%s); one at a time", len(intents), exc)
        return Batch(alone=[mid for mid in intents if mid not in result.left], left=result.left)
    return result


def _notices(s: Session, intents: Iterable[Intent]) -> None:
    """Which of the batch's notices were applied already, which bookings deferred messages wait
    for, and the bookings their vendor numbers name: one query each (SQLite), not one per notice."""
    notices = [i for i in intents if i.notice_key and i.action in NOTICES]
    waits = [
        deferred.key(i.source or "mail", i.fields.get("external_id")) for i in notices if i.action == "book"
    ]
    known.read(s, [i.notice_key for i in notices], waits)
    bookings.read_externals(s, [(i.source, i.fields.get("external_id")) for i in notices])


def _enough(until: float, courteous: float, s: Session) -> bool:
    """Time for the rest to go to the next batch: the time is up, or intake waits for the lock."""
    now = time.monotonic()
    return now > until or (now > courteous and db.others_waiting(s))


def _one(
    s: Session, ctx: Context, msg: Message | None, message_id: int, intent: Intent, now: datetime
) -> Done | None:
    if msg is None:  # no longer ours
        lost(message_id)
        return None
    apply(s, ctx, msg, intent, now)
    claim.finish(msg)
    save_now(s, msg)  # written now, not by the next message's first query's flush (a third of its cost)
    return Done(msg.state, msg.reason, msg.from_addr)
