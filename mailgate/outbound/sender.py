"""Send queued mail: compose, DKIM-sign, deliver to the relay or the local Maildir.

4xx and connection errors are retried with backoff; 5xx is permanent. Maildir delivery is named by
the outbox row, so a sender killed between delivering and recording does not deliver twice.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mailgate.config import Config
from mailgate.mail.compose import Outgoing, compose
from mailgate.mail.dkim import DkimKey, load_key, sign
from mailgate.models import Outbox, OutboxState, utcnow
from mailgate.outbound import maildir, relay

BACKOFF = [timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 720, 1440, 1440)]
log = logging.getLogger("mailgate.outbox")


@dataclass(frozen=True)
class Sender:
    cfg: Config
    engine: Engine
    dkim: DkimKey | None
    relay: relay.Relay | None

    @classmethod
    def build(cls, cfg: Config, engine: Engine) -> Sender:
        key_path = cfg.dkim_key_path
        dkim = load_key(key_path, cfg.dkim_domain, cfg.outbound.dkim_selector) if key_path else None
        rel = relay.parse_relay_url(cfg.outbound.relay, os.environ) if cfg.outbound.relay else None
        return cls(cfg=cfg, engine=engine, dkim=dkim, relay=rel)

    def render(self, row: Outbox, now: datetime) -> bytes:
        out = Outgoing(
            to=row.to_addr,
            subject=row.subject,
            body=row.body,
            from_addr=self.cfg.sender,
            from_name=self.cfg.shop.name,
            in_reply_to=row.in_reply_to,
            references=tuple(row.references.split()),
            message_id=row.header_message_id,
        )
        raw = compose(out, carrier_domains=self.cfg.mail.carrier_domains, now=now)
        return sign(raw, self.dkim) if self.dkim else raw

    def due(self, now: datetime, limit: int = 50) -> list[int]:
        with Session(self.engine) as session:
            stmt = (
                select(Outbox.id)
                .where(Outbox.state == OutboxState.QUEUED, col(Outbox.next_attempt_at) <= now)
                .order_by(col(Outbox.id))
                .limit(limit)
            )
            return [i for i in session.exec(stmt) if i is not None]

    async def send_one(self, outbox_id: int, now: datetime) -> str:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(Outbox, outbox_id)
            if row is None or row.state != OutboxState.QUEUED:
                return "skipped"
            row.attempts += 1
            try:
                raw = self.render(row, now)
                if self.relay is None:
                    _deliver_once(self.cfg.outbox_dir, raw, row)
                    row.last_error = ""
                else:
                    row.last_error = await relay.send(self.relay, raw, self.cfg.sender, row.to_addr)
                row.state, row.sent_at = OutboxState.SENT, now
            except relay.PermanentError as e:
                row.state, row.last_error = OutboxState.FAILED, str(e)
            except (relay.TransientError, OSError) as e:
                row.last_error = f"{type(e).__name__}: {e}"
                if row.attempts > len(BACKOFF):
                    row.state = OutboxState.FAILED
                else:
                    row.next_attempt_at = now + BACKOFF[row.attempts - 1]
            session.add(row)
            session.commit()
            log.info(
                "outbox=%s to=%s template=%s state=%s %s",
                row.id,
                row.to_addr,
                row.template,
                row.state,
                row.last_error,
            )
            return row.state

    async def send_due(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        sent = 0
        for outbox_id in self.due(now):
            if await self.send_one(outbox_id, now) == OutboxState.SENT:
                sent += 1
        return sent


def _deliver_once(outbox_dir: Path, raw: bytes, row: Outbox) -> Path:
    name = f"mailgate-outbox-{row.id}-{row.header_message_id.partition('@')[0]}"
    for sub in ("new", "cur"):
        d = outbox_dir / sub
        if d.is_dir():
            for p in d.glob(f"{name}*"):
                return p
    return maildir.deliver(outbox_dir, raw, name=name)
