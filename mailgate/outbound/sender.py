"""Send queued mail: claim due rows, compose and DKIM-sign, deliver to the relay or the local Maildir,
record the outcome.

A pass claims its rows first (`sending`, an owner, a lease on the database clock), so two senders
never send the same row, and records each outcome only if the claim is still its own. Database, file
and CPU work runs in worker threads: the loop that talks to the relay also serves SMTP and HTTP.

4xx and connection errors are retried with backoff; 5xx is permanent; a row that cannot be composed
fails alone. A sender killed mid-row leaves a lease that runs out (or, on this host, an owner that is
gone) and the row is sent again: into the Maildir at most once, since the file is named by the row;
through a relay possibly twice, since SMTP cannot tell whether the lost try got its 250 (logged).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Update, bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from mailgate import db, leases
from mailgate.config import Config
from mailgate.faults import is_our_own
from mailgate.links import Signer, link_secrets
from mailgate.mail.compose import Outgoing, compose
from mailgate.mail.dkim import DkimKey, load_key, sign
from mailgate.models import Outbox, OutboxState, utcnow
from mailgate.normalize import redact
from mailgate.outbound import maildir, relay, return_path

# The wait after attempt n is BACKOFF[n-1]; a transient failure of attempt len(BACKOFF) + 1 (about
# 2.9 days after the first) is final.
BACKOFF = [timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440, 1440)]
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=2)
BATCH = 50
BUSY = OutboxState.SENDING
# Starts last_error of a row whose sender stopped mid-try: the next try knows it is a second one.
LOST_LEASE = "lease lost"
RETRY = "retry"
log = logging.getLogger("mailgate.outbox")


@dataclass(frozen=True)
class Outcome:
    state: str  # OutboxState.SENT | OutboxState.FAILED | RETRY
    detail: str  # the relay's reply or what went wrong


@functools.cache
def _taking(postgres: bool) -> Update:
    """Built once: due rows, each claim counting as an attempt."""
    due = [col(Outbox.state) == OutboxState.QUEUED, col(Outbox.next_attempt_at) <= bindparam("now")]
    return leases.take_statement(
        Outbox, due, busy_state=BUSY, postgres=postgres, attempts=col(Outbox.attempts) + 1
    )


@dataclass(frozen=True)
class Sender:
    cfg: Config
    engine: Engine
    dkim: DkimKey | None
    relay: relay.Relay | None
    owner: str = field(default_factory=lambda: leases.owner_name("sender"))
    lease: timedelta = LEASE
    batch: int = BATCH
    signer: Signer | None = None  # signs the links of a mail as it is sent

    @classmethod
    def build(cls, cfg: Config, engine: Engine) -> Sender:
        key_path = cfg.dkim_key_path
        dkim = load_key(key_path, cfg.dkim_domain, cfg.outbound.dkim_selector) if key_path else None
        rel = relay.parse_relay_url(cfg.outbound.relay, os.environ) if cfg.outbound.relay else None
        signer = Signer(link_secrets(cfg), cfg.base_url)
        return cls(cfg=cfg, engine=engine, dkim=dkim, relay=rel, signer=signer)

    def start(self) -> None:
        """Once when the sender starts: clear what killed Maildir deliveries left in tmp/."""
        for path in maildir.clean_tmp(self.cfg.outbox_dir):
            log.info("removed %s: left in tmp/ by an interrupted delivery", path.name)

    def render(self, row: Outbox, now: datetime) -> bytes:
        body = row.body
        for placeholder, (purpose, token_id) in (row.links or {}).items():
            if self.signer is None:
                raise ValueError("a mail with links, and no link secrets to sign them")
            body = body.replace(placeholder, self.signer.url(purpose, token_id))
        out = Outgoing(
            to=row.to_addr,
            subject=row.subject,
            body=body,
            from_addr=self.cfg.sender,
            from_name=self.cfg.shop.name,
            in_reply_to=row.in_reply_to,
            references=tuple(row.references.split()),
            message_id=row.header_message_id,
            reply_to=row.reply_address,
            calendar=row.calendar,
        )
        mail = self.cfg.mail
        raw = compose(
            out, carrier_domains=mail.carrier_domains, now=now, kanji_substitutes=mail.jis_kanji_substitutes
        )
        return sign(raw, self.dkim) if self.dkim else raw

    # --- the pass, on the event loop -------------------------------------------------------------

    async def send_due(self) -> int:
        """One pass: hand on what stopped senders left, claim up to `batch` due rows, send each.
        Returns how many were sent."""
        await asyncio.to_thread(self.reap)
        pending = await asyncio.to_thread(self.take)
        if not pending:
            return 0
        sent = 0
        async with self._leases_kept():
            try:
                while pending:
                    sent += await self.send_one(pending.pop(0)) == OutboxState.SENT
            finally:
                if pending:  # the pass broke off (the database went away): the rest was never tried
                    await asyncio.to_thread(self.release, pending)
        return sent

    async def send_one(self, outbox_id: int) -> str | None:
        """A row this sender has claimed, to its outcome: the state recorded, or None when the claim
        was lost before the outcome could be recorded."""
        row = await asyncio.to_thread(self.load, outbox_id)
        try:
            raw = await asyncio.to_thread(self.render, row, utcnow())
        except Exception as e:
            why = f"{type(e).__name__}: {e}"
            # No retry turns this row into a mail (an address that is only "@", a line over 998
            # octets): it fails alone, and the rows behind it go on.
            outcome = Outcome(RETRY if is_our_own(e) else OutboxState.FAILED, f"cannot compose: {why}")
        else:
            outcome = await self._deliver(row, raw)
        return await asyncio.to_thread(self.record, row, outcome)

    def return_path(self, row: Outbox) -> str:
        """bounce+<token>@: a delivery report about this mail names its row (outbound/return_path.py)."""
        assert row.id is not None
        if self.signer is None:
            return self.cfg.sender
        return return_path.address(self.cfg, self.signer.secrets, row.id)

    async def _deliver(self, row: Outbox, raw: bytes) -> Outcome:
        try:
            if self.relay is None:
                # As a delivering MTA writes it: the Maildir copy shows where its bounce would go.
                copy = f"Return-Path: <{self.return_path(row)}>\r\n".encode() + raw
                return Outcome(OutboxState.SENT, await asyncio.to_thread(self._to_maildir, row, copy))
            reply = await relay.send(self.relay, raw, self.return_path(row), row.to_addr)
        except relay.PermanentError as e:
            return Outcome(OutboxState.FAILED, str(e))
        except relay.TransientError as e:
            return Outcome(RETRY, str(e))
        except Exception as e:  # a full disk, or something unforeseen: try again later
            log.warning("outbox=%s: delivery failed", row.id, exc_info=not isinstance(e, OSError))
            return Outcome(RETRY, f"{type(e).__name__}: {e}")
        if row.last_error.startswith(LOST_LEASE):
            # Unavoidable with SMTP: the stopped sender may have had its 250 before it stopped.
            log.warning(
                "outbox=%s re-sent after a lost lease (attempt %s): the recipient may get it twice",
                row.id,
                row.attempts,
            )
        return Outcome(OutboxState.SENT, reply)

    def _to_maildir(self, row: Outbox, raw: bytes) -> str:
        name = maildir_name(row)
        # Only a try before this one can have delivered it (each claim counts, one handed back
        # untried does not): a first try does not read through cur/, which a mail reader fills.
        found = maildir.delivered(self.cfg.outbox_dir, name) if row.attempts > 1 else None
        if found is not None:  # delivered by a try that stopped before recording it
            log.warning("outbox=%s already in the Maildir as %s: not delivered again", row.id, found.name)
            return f"already delivered: {found.name}"
        maildir.deliver(self.cfg.outbox_dir, raw, name=name)
        return ""

    @asynccontextmanager
    async def _leases_kept(self) -> AsyncIterator[None]:
        """Renew this sender's leases while the pass runs (a slow relay keeps its rows); entered and
        left in a thread, since leaving waits for a renewal that may be talking to the database."""
        kept = leases.kept_alive(self.engine, Outbox, self.owner, BUSY, self.lease)
        await asyncio.to_thread(kept.__enter__)
        try:
            yield
        finally:
            await asyncio.to_thread(kept.__exit__, None, None, None)

    # --- database work, in worker threads ----------------------------------------------------------

    def reap(self) -> list[int]:
        """Rows whose sender's lease ran out, or whose sender on this host is gone: queued again,
        due at once. The stopped try already counted as an attempt; if it was the last, failed."""
        with db.transaction(self.engine) as s:
            stale = leases.stale(s, Outbox, BUSY, db.now(s))
            for row in stale:
                lost = row.claimed_by
                row.claimed_by, row.lease_until = None, None
                row.last_error = f"{LOST_LEASE}: {lost} stopped during attempt {row.attempts}"
                row.state = OutboxState.QUEUED if row.attempts < MAX_ATTEMPTS else OutboxState.FAILED
                s.add(row)
                log.warning("outbox=%s: %s stopped while sending it; now %s", row.id, lost, row.state)
            return [row.id for row in stale if row.id is not None]

    def take(self) -> list[int]:
        """Claim up to `batch` due rows, oldest first; each claim counts as an attempt."""
        with db.transaction(db.redoable(self.engine)) as s:  # lost in a power cut: claimed again
            now = db.now(s)
            return leases.take(
                s,
                _taking(db.is_postgres(s)),
                owner=self.owner,
                until=now + self.lease,
                limit=self.batch,
                now=now,
            )

    def load(self, outbox_id: int) -> Outbox:
        with db.transaction(db.reading(self.engine)) as s:
            row = s.get(Outbox, outbox_id)
            assert row is not None
            return row

    def record(self, row: Outbox, outcome: Outcome) -> str | None:
        """The outcome, in one transaction that first checks the row is still ours."""
        with db.transaction(self.engine) as s:
            if not leases.hold(s, Outbox, row.id, self.owner, BUSY):
                log.warning(
                    "outbox=%s: lease lost before its outcome (%s) was recorded; left to its new owner",
                    row.id,
                    outcome.state,
                )
                return None
            current = s.get(Outbox, row.id)
            assert current is not None
            now = db.now(s)
            current.claimed_by, current.lease_until, current.last_error = None, None, outcome.detail
            if outcome.state == OutboxState.SENT:
                current.state, current.sent_at = OutboxState.SENT, now
            elif outcome.state == OutboxState.FAILED or current.attempts >= MAX_ATTEMPTS:
                current.state = OutboxState.FAILED
            else:
                current.state = OutboxState.QUEUED
                current.next_attempt_at = now + BACKOFF[current.attempts - 1]
                if row.last_error.startswith(LOST_LEASE):  # the try that succeeds is still a re-send
                    current.last_error = f"{LOST_LEASE} before; {outcome.detail}"
            s.add(current)
        log.info(
            "outbox=%s to=%s template=%s state=%s attempt=%s %s",
            current.id,
            redact(current.to_addr),  # 09012345678@docomo.ne.jp is a common address
            current.template,
            current.state,
            current.attempts,
            redact(current.last_error),
        )
        return current.state

    def release(self, outbox_ids: list[int]) -> None:
        """Claimed rows this pass never tried: queued again, the attempt they were charged undone."""
        try:
            with db.transaction(self.engine) as s:
                s.exec(
                    update(Outbox)
                    .where(
                        col(Outbox.id).in_(outbox_ids),
                        col(Outbox.state) == BUSY,
                        col(Outbox.claimed_by) == self.owner,
                    )
                    .values(
                        state=OutboxState.QUEUED,
                        claimed_by=None,
                        lease_until=None,
                        attempts=col(Outbox.attempts) - 1,
                    )
                    .execution_options(synchronize_session=False)
                )
        except Exception as e:  # their leases run out instead
            log.warning("could not hand back outbox rows %s: %s", outbox_ids, e)


def maildir_name(row: Outbox) -> str:
    """The row's file name in the Maildir: fixed by the row, so a second try finds the first."""
    return f"mailgate-outbox-{row.id}-{row.header_message_id.partition('@')[0]}"
