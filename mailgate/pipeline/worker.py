"""The worker: claim stored messages, decide what each means with no transaction open (in reader
processes, several at once), then record the outcomes in short transactions that first check each
claim is still ours.

A burst is worked as a stream: up to WINDOW claimed messages are being read at a time, one reader
process per core, and whatever has been read by the time the previous outcomes are committed is
recorded together in one transaction (pipeline/batch.py): one commit for many messages, while the
readers go on with the next ones. A read that waits (a DKIM key from a slow DNS server) holds back
only its own message.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy.engine import Engine

from mailgate import audit, db, leases
from mailgate.context import Context
from mailgate.faults import is_our_own
from mailgate.models import Message, MessageState, utcnow
from mailgate.normalize import redact
from mailgate.pipeline import batch, claim, isolated
from mailgate.pipeline.arrivals import Arrivals
from mailgate.pipeline.decide import decide_stored
from mailgate.pipeline.dispatch import apply
from mailgate.rules.intent import Intent

log = logging.getLogger("mailgate.pipeline")
# Claimed messages being read or waiting to be recorded, per worker: enough to keep every reader
# busy while a batch commits, few enough that a batch holds SQLite's write lock briefly.
WINDOW = 32
# How long a pass that waits for arrivals goes on: claims whose worker died are reaped when a pass
# begins, so under steady mail a pass must end now and then.
PASS_SECONDS = claim.LEASE.total_seconds()


def _kept_alive(engine: Engine, owner: str):  # type: ignore[no-untyped-def]
    return leases.kept_alive(engine, Message, owner, claim.BUSY, claim.LEASE)


def process(
    ctx: Context, message_id: int, now: datetime | None = None, *, owner: str | None = None
) -> str | None:
    """Process one stored message to its final state; returns that state (None if not ours to take)."""
    owner = owner or leases.owner_name("worker")
    if not claim.take_one(ctx.engine, message_id, owner):
        return None
    with _kept_alive(ctx.engine, owner):
        return work(ctx, message_id, owner, now)


def process_pending(
    ctx: Context,
    *,
    owner: str | None = None,
    arrivals: Arrivals | None = None,
    linger: float = 0.0,
    on_recorded: Callable[[int], None] | None = None,
) -> int:
    """Everything in `received`, including what applying releases (deferred notices) on the way, and
    what a dead worker left behind. Returns how many messages this call moved on.

    With `arrivals` (serve) the pass does not end when it runs out of work: it waits up to `linger`
    seconds for intake to announce the next message and claims it at once (for PASS_SECONDS at
    most). `on_recorded` is told
    how many messages each batch moved on (serve wakes the outbox sender with it)."""
    owner = owner or leases.owner_name("worker")
    claim.return_kept(ctx.engine)  # before reaping: what we still hold is no strike
    # After a worker died with messages in work, one of them may be what killed it: they are taken
    # one at a time at first, then twice as many after each batch recorded, so that such a message
    # does not cost a whole window of others a lost lease at every death.
    window = 1 if claim.reap(ctx.engine).taken_again else WINDOW
    ends = time.monotonic() + PASS_SECONDS  # then a new pass reaps what other workers left
    done = 0
    reading: dict[int, Future[Intent]] = {}
    with _kept_alive(ctx.engine, owner), ThreadPoolExecutor(isolated.pool_size()) as pool:
        try:
            while True:
                if len(reading) < window:
                    taken, raws = claim.take_stored(ctx.engine, owner, limit=window - len(reading))
                    for msg in taken:
                        reading[msg.id or 0] = pool.submit(decide_stored, ctx, msg, raws.get(msg.spool_path))
                if not reading:
                    if arrivals is None or time.monotonic() > ends or not arrivals.wait(linger):
                        return done
                    continue
                wait(reading.values(), return_when=FIRST_COMPLETED)
                ready = {mid: reading[mid] for mid in sorted(reading) if reading[mid].done()}
                recorded, left = _record(ctx, owner, ready)
                done += recorded
                if recorded and on_recorded is not None:
                    on_recorded(recorded)
                window = min(WINDOW, window * 2) if recorded else window
                for message_id in set(ready) - set(left):
                    del reading[message_id]
        except BaseException as exc:
            _give_back(ctx, owner, reading, exc)
            raise


def _give_back(ctx: Context, owner: str, reading: dict[int, Future[Intent]], exc: BaseException) -> None:
    """Claimed but not recorded when the pass stopped (the database went away, Ctrl-C): back to
    `received` now, without a strike; if the database refuses that too, by the next pass."""
    for future in reading.values():
        future.cancel()
    if not reading:
        return
    try:
        claim.give_back(ctx.engine, list(reading), owner)
    except Exception:
        for message_id in reading:
            claim.keep_for_later(message_id, owner, f"{type(exc).__name__}: {exc}"[:500])


def decide(ctx: Context, message_id: int) -> Intent:
    with db.transaction(db.reading(ctx.engine)) as s:
        msg = s.get(Message, message_id)
        assert msg is not None
    return decide_stored(ctx, msg)


def _record(ctx: Context, owner: str, ready: dict[int, Future[Intent]]) -> tuple[int, list[int]]:
    """Read messages to their outcomes: together where they can be, one at a time where not.
    Returns how many were moved on, and the ones left for the next batch."""
    intents: dict[int, Intent] = {}
    done = 0
    for message_id, future in ready.items():
        error = future.exception()
        if error is None:
            intents[message_id] = future.result()
        else:
            tb = "".join(traceback.format_exception(error))
            done += _failed(ctx, message_id, owner, error, tb) is not None
    result = batch.record(ctx, owner, intents)
    for message_id, (outcome, intent) in result.recorded.items():
        _log(message_id, intent, outcome)
    for message_id, (error, tb) in result.failed.items():
        done += _failed(ctx, message_id, owner, error, tb) is not None
    for message_id in result.alone:  # the database refused the batch: each on its own
        done += work(ctx, message_id, owner) is not None
    return done + len(result.recorded), result.left


def work(ctx: Context, message_id: int, owner: str, now: datetime | None = None) -> str | None:
    """A claimed message to its outcome. None: the claim was lost (another worker has it now)."""
    now = now or utcnow()
    try:
        intent = decide(ctx, message_id)
        with db.transaction(ctx.engine) as s:
            audit.gather(s)
            if not claim.hold(s, message_id, owner):
                batch.lost(message_id)
                return None
            msg = s.get(Message, message_id)
            assert msg is not None
            apply(s, ctx, msg, intent, now)
            claim.finish(msg)
            done = batch.Done(msg.state, msg.reason, msg.from_addr)
        _log(message_id, intent, done)
        return done.state
    except Exception as exc:
        return _failed(ctx, message_id, owner, exc, traceback.format_exc())


def _log(message_id: int, intent: Intent, done: batch.Done) -> None:
    log.info(
        "msg=%s from=%s rule=%s action=%s outcome=%s: %s",
        message_id,
        redact(done.from_addr or "-"),  # 09012345678@docomo.ne.jp is a common address
        intent.rule or "-",
        intent.action,
        done.state,
        redact(done.reason),
    )


def _failed(ctx: Context, message_id: int, owner: str, exc: BaseException, tb: str) -> str | None:
    """Processing raised: later again for an error of our own, a strike when it killed its reader,
    else the message is `failed`."""
    reason = f"{type(exc).__name__}: {exc}"[:500]
    if is_our_own(exc):
        try:
            returned = claim.retry_later(ctx.engine, message_id, owner, reason)
        except Exception as again:
            if not is_our_own(again):
                raise
            # A full disk refuses this write too: the claim stays ours, to be handed back by
            # the next pass instead of running out and counting as a worker that died.
            claim.keep_for_later(message_id, owner, reason)
            raise
        return MessageState.RECEIVED if returned else None
    if not isinstance(exc, Exception):
        raise exc
    if isinstance(exc, isolated.ReaderDied):
        return claim.strike(ctx.engine, message_id, owner, reason, tb)
    if not claim.fail(ctx.engine, message_id, owner, reason, tb):
        return None
    log.error("msg=%s failed: %s", message_id, redact(reason))
    return MessageState.FAILED
