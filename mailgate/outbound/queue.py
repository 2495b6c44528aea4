"""Queue outgoing mail in the caller's transaction, capped per address so nobody can spray mail."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jinja2
from sqlmodel import Session, col, func, select

from mailgate import audit
from mailgate.audit import Actor
from mailgate.config import Config
from mailgate.links import Link
from mailgate.mail.addresses import domain_of
from mailgate.models import Outbox
from mailgate.templating import render_mail


@dataclass(frozen=True)
class Mailer:
    """Renders a template into an outbox row: the shop's configuration and its mail templates."""

    cfg: Config
    templates: jinja2.Environment

    def enqueue(
        self,
        session: Session,
        *,
        to: str,
        template: str,
        now: datetime,
        actor: Actor,
        customer_id: int | None = None,
        capped: bool = True,
        thread: bool = True,
        **context: object,
    ) -> Outbox | None:
        """Render and queue a mail; None (and an audit event) when the address hit its hourly cap.
        A `Link` in the context is rendered as a placeholder, signed into a URL only when sent.
        capped=False for the shop's own staff alerts: a busy morning must not silence them.
        thread=False for mail that answers nobody (staff alerts): no In-Reply-To."""
        key = to.lower()
        limit = self.cfg.mail.replies_per_hour
        if capped and recent_count(session, key, now - timedelta(hours=1)) >= limit:
            audit.by(
                session,
                "reply_suppressed",
                actor,
                customer_id=customer_id,
                template=template,
                why=f"more than {limit} mails to this address in an hour",
            )
            return None
        links: dict[str, Any] = {}
        for name, value in list(context.items()):
            if isinstance(value, Link):
                placeholder = f"[[link-{secrets.token_hex(8)}]]"  # no customer's text can guess it
                links[placeholder] = [value.purpose, value.token_id]
                context[name] = placeholder
        subject, body = render_mail(self.templates, template, shop=self.cfg.shop, **context)
        refs = actor.reply_to if thread else ""
        row = Outbox(
            to_addr=to,
            to_key=key,
            template=template,
            subject=subject,
            body=body,
            links=links or None,
            header_message_id=f"{uuid.uuid4().hex}@{domain_of(self.cfg.sender)}",
            in_reply_to=refs,
            references=refs,
            cause_message_id=actor.message_id,
            customer_id=customer_id,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(row)
        session.flush()
        audit.by(
            session,
            "mail_queued",
            actor,
            customer_id=customer_id,
            outbox_id=row.id,
            template=template,
            to=to,
        )
        return row


def recent_count(session: Session, to_key: str, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(Outbox)
        .where(Outbox.to_key == to_key, col(Outbox.created_at) > since)
    )
    return int(session.exec(stmt).one())
