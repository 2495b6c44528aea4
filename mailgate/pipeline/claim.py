"""Stored messages are claimed before they are worked on: `processing`, an owner, a lease.

A message whose reader process died reading it (pipeline/isolated.py ReaderDied: the OOM killer, a
crash in C code) gets a strike and is read again by a fresh reader; after MAX_STRIKES it is set
aside as `failed` instead of killing readers forever (Mailman's poison rule). A worker killed
mid-message leaves a lease that runs out; the message is then taken again. That is no strike: a node
SIGKILLed by a deploy or a power cut around a good message is not the message's fault. An error of
our own (a full disk, the database gone) is neither: the message goes back to `received` and is tried
again a little later.
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import Update, bindparam, or_, update
from sqlalchemy.engine import Engine, Result
from sqlmodel import Session, col

from mailgate import audit, db, leases, write_now
from mailgate.inbound import spool
from mailgate.models import Message, MessageState, utcnow
from mailgate.write_now import attach

LEASE = timedelta(seconds=60)
MAX_STRIKES = 3
# A message can also kill the whole node rather than its reader (the OOM killer picks the parent; a
# crash while its outcome is recorded), and that looks like any kill from outside. So lost leases
# set a message aside too, but only after many more: a good message is in work for well under a
# second, and at ten node deaths running is far less likely its bad luck than its doing.
MAX_LOST_LEASES = 10
RETRY_AFTER = [timedelta(seconds=s) for s in (10, 30, 60, 300, 900)]
BUSY = MessageState.PROCESSING
# Messages up to this size have their bytes read together with their rows when taken (a window's
# worth held at once); larger ones one at a time by their reader.
READ_TOGETHER_BYTES = 256 * 1024
_TABLE = Message.__table__  # type: ignore[attr-defined]
# Every column of a message, for the statements that return whole rows (named as the model's fields).
_COLUMNS = tuple(_TABLE.c)
_NAMES = tuple(c.key for c in _COLUMNS)
log = logging.getLogger("mailgate.pipeline")


_RETRY_DUE = or_(col(Message.retry_at).is_(None), col(Message.retry_at) <= bindparam("now"))
_IN_STATE = col(Message.state) == bindparam("from_state")
_THIS_ONE = col(Message.id) == bindparam("message_id")
_ATTEMPT = {"attempts": col(Message.attempts) + 1}


@functools.cache
def _taking(postgres: bool, one: bool = False, retry_due: bool = True, rows: bool = False) -> Update:
    """Built once: the next ready messages (`one`: the parameter `message_id`, if it is ready); their
    ids, or (`rows`) their whole rows."""
    ready = [_THIS_ONE] if one else []
    ready += [_IN_STATE, _RETRY_DUE] if retry_due else [_IN_STATE]
    returning = _COLUMNS if rows else ()
    return leases.take_statement(
        Message, ready, busy_state=BUSY, postgres=postgres, returning=returning, **_ATTEMPT
    )


def take_next(engine: Engine, owner: str, *, lease: timedelta = LEASE, limit: int = 1) -> list[int]:
    """The next messages waiting in `received`, now ours: their ids."""
    return [m.id or 0 for m in _take(engine, owner, lease, limit)]


def take_stored(
    engine: Engine, owner: str, *, lease: timedelta = LEASE, limit: int = 1
) -> tuple[list[Message], dict[str, bytes]]:
    """`take_next` for the worker's readers: the messages taken, as rows returned by the claim
    itself (no query of its own to load them), and the bytes of those up to READ_TOGETHER_BYTES that
    are in the database (by spool_path), read after the claim's commit: not while it holds SQLite's
    write lock, which intake waits for. A larger message's bytes are read by its reader."""
    taken = _take(engine, owner, lease, limit)
    small = [m.spool_path for m in taken if m.size <= READ_TOGETHER_BYTES]
    with Session(db.reading(engine)) as session:  # no query when none is in the database
        return taken, spool.read_together(session, small)


def _take(engine: Engine, owner: str, lease: timedelta, limit: int) -> list[Message]:
    """Up to `limit` ready messages claimed, as rows (not in a session), lowest id first."""
    with Session(db.redoable(engine)) as session:  # lost in a power cut: taken again
        now = db.now(session)
        given = {"owner": owner, "until": now + lease, "limit": limit, "now": now}
        given["from_state"] = MessageState.RECEIVED
        # Past the ORM: through the session it builds an UPDATE ... RETURNING anew each time.
        taken = _messages(write_now.columns(session, _taking(db.is_postgres(session), rows=True), given))
        session.commit()
    return sorted(taken, key=lambda m: m.id or 0)


def take_one(
    engine: Engine,
    message_id: int,
    owner: str,
    *,
    lease: timedelta = LEASE,
    from_state: str = MessageState.RECEIVED,
) -> bool:
    """This message, if it is in `from_state` (replay takes a final state) and nobody holds it."""
    with Session(db.redoable(engine)) as session:  # lost in a power cut: taken again
        now = db.now(session)
        # An operator's replay (from a final state) does not wait for a retry time.
        retry_due = from_state == MessageState.RECEIVED
        taken = leases.take(
            session,
            _taking(db.is_postgres(session), one=True, retry_due=retry_due),
            owner=owner,
            until=now + lease,
            message_id=message_id,
            from_state=from_state,
            now=now,
        )
        session.commit()
        return bool(taken)


def hold(session: Session, message_id: int, owner: str) -> bool:
    """In the transaction that records the outcome: still ours? (and locked until it commits)."""
    return leases.hold(session, Message, message_id, owner, BUSY)


def hold_all(session: Session, message_ids: list[int], owner: str) -> dict[int, Message]:
    """`hold` for a batch in one statement: the ones still ours, locked, loaded into the session."""
    held = _messages(write_now.columns(session, _HOLD_ALL, {"ids": message_ids, "owner": owner}))
    attach(session, held)
    return {m.id or 0: m for m in held}


def _messages(result: Result[Any]) -> list[Message]:
    """Message rows from a statement that returned their columns (_COLUMNS), not in a session."""
    return [Message(**dict(zip(_NAMES, row, strict=True))) for row in result]


# Built once, the values as parameters.
_IDS = bindparam("ids", expanding=True)
_HOLD_ALL = (
    update(_TABLE)
    .where(
        col(Message.id).in_(_IDS), col(Message.state) == BUSY, col(Message.claimed_by) == bindparam("owner")
    )
    .values(claimed_by=bindparam("owner"))
    .returning(*_COLUMNS)
)


def finish(message: Message) -> None:
    """The outcome is recorded: the claim ends with it, in the same transaction."""
    message.claimed_by = None
    message.lease_until = None
    message.retry_at = None


class Reaped(NamedTuple):
    taken_again: list[int]
    set_aside: list[int]


def reap(engine: Engine) -> Reaped:
    """Messages whose worker's lease ran out, or whose worker on this host is gone: taken again, or
    set aside after MAX_LOST_LEASES."""
    taken_again: list[int] = []
    set_aside: list[int] = []
    with Session(engine) as session:
        for msg in leases.stale(session, Message, BUSY, db.now(session)):
            lost, msg.lost_leases = msg.claimed_by, msg.lost_leases + 1
            finish(msg)
            if msg.lost_leases >= MAX_LOST_LEASES:
                why = f"lost its lease {msg.lost_leases} times (its worker stopped each time); set aside"
                _set_aside(session, msg, why)
                set_aside.append(msg.id or 0)
                log.warning("msg=%s set aside after %s lost leases", msg.id, msg.lost_leases)
            else:
                msg.state = MessageState.RECEIVED
                taken_again.append(msg.id or 0)
                audit.record(session, "message_lease_lost", "system", message_id=msg.id, owner=lost)
                log.warning("msg=%s: %s stopped while working on it; taken again", msg.id, lost)
            session.add(msg)
        session.commit()
    return Reaped(taken_again, set_aside)


def _set_aside(session: Session, msg: Message, reason: str, actor: str = "system") -> None:
    msg.state, msg.reason, msg.processed_at = MessageState.FAILED, reason, utcnow()
    audit.record(session, "message_failed", actor, message_id=msg.id, reason=reason)


def _ours(session: Session, message_id: int, owner: str) -> Message | None:
    """The message with its claim ended, if `owner` still holds it (locked until the commit)."""
    if not hold(session, message_id, owner):
        return None
    msg = session.get(Message, message_id)
    assert msg is not None
    finish(msg)
    return msg


def strike(engine: Engine, message_id: int, owner: str, why: str, tb: str) -> str | None:
    """Its reader died reading it: back to `received` for a fresh reader, or `failed` at MAX_STRIKES.
    Returns the state it is left in (None: no longer ours)."""
    with Session(engine) as session:
        msg = _ours(session, message_id, owner)
        if msg is None:
            return None
        msg.strikes += 1
        if msg.strikes >= MAX_STRIKES:
            _set_aside(session, msg, f"{why}, {msg.strikes} times; set aside")
            msg.traceback = tb
        else:
            msg.state, msg.reason = MessageState.RECEIVED, why
            audit.record(session, "message_reader_died", "system", message_id=msg.id, reason=why)
        session.add(msg)
        session.commit()
        state = msg.state
    log.warning("msg=%s: %s (strike %s); %s", message_id, why, msg.strikes, state)
    return state


# Claims this process could not hand back because the database refused the write (a full disk):
# message id -> (owner, why). They are handed back, without a strike, before anything is reaped.
_unreturned: dict[int, tuple[str, str]] = {}
_unreturned_lock = threading.Lock()


def keep_for_later(message_id: int, owner: str, why: str) -> None:
    with _unreturned_lock:
        _unreturned[message_id] = (owner, why)


def return_kept(engine: Engine) -> None:
    """Hand back what keep_for_later kept; raises while the database still refuses writes."""
    with _unreturned_lock:
        kept = dict(_unreturned)
    for message_id, (owner, why) in kept.items():
        retry_later(engine, message_id, owner, why)  # False: no longer ours, nothing to hand back
        with _unreturned_lock:
            _unreturned.pop(message_id, None)


def give_back(engine: Engine, message_ids: list[int], owner: str) -> int:
    """Claims not worked on after all: back to `received` at once, no strike. Returns how many."""
    with Session(db.redoable(engine)) as session:  # lost in a power cut: taken again
        stmt = (
            update(Message)
            .where(col(Message.id).in_(message_ids), col(Message.claimed_by) == owner)
            .where(col(Message.state) == BUSY)
            .values(state=MessageState.RECEIVED, claimed_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        count = session.exec(stmt).rowcount  # type: ignore[call-overload]
        session.commit()
    return int(count)


def retry_later(engine: Engine, message_id: int, owner: str, why: str) -> bool:
    """An error of our own: back to `received`, to be tried again after a pause. No strike."""
    with Session(engine) as session:
        msg = _ours(session, message_id, owner)
        if msg is None:
            return False
        pause = RETRY_AFTER[min(msg.attempts, len(RETRY_AFTER)) - 1]
        msg.state, msg.reason, msg.retry_at = MessageState.RECEIVED, why, db.now(session) + pause
        session.add(msg)
        session.commit()
    log.warning("msg=%s: %s; trying again in %s", message_id, why, pause)
    return True


def fail(engine: Engine, message_id: int, owner: str, reason: str, tb: str, actor: str = "system") -> bool:
    """The message itself made processing fail: `failed` with the traceback, for an operator."""
    with Session(engine) as session:
        msg = _ours(session, message_id, owner)
        if msg is None:
            return False
        _set_aside(session, msg, reason, actor)
        msg.traceback = tb
        session.add(msg)
        session.commit()
    return True
