"""Queue outgoing mail in the caller's transaction; automatic replies are limited (caps.py) so nobody
can make the shop spray mail."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
from sqlmodel import Session

from mailgate import audit
from mailgate.audit import Actor
from mailgate.config import Config
from mailgate.links import Link
from mailgate.mail.addresses import domain_of, mailbox_key
from mailgate.mail.compose import thread_id, unanswerable
from mailgate.models import Outbox, OutboxState
from mailgate.outbound import caps, unreachable
from mailgate.templating import render_mail
from mailgate.write_now import add_now


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
        reply_address: str = "",
        calendar: str = "",
        checked: bool = False,
        **context: object,
    ) -> Outbox | None:
        """Render and queue a mail; None (and an audit event) when no mail can go to the address, or
        a reply limit says no (outbound/caps.py).
        capped=False for mail the shop owes: staff alerts, and what a customer asked for through a
        link (a confirmation); it is neither limited nor counted.
        thread=False for mail that answers nobody (staff alerts): no In-Reply-To.
        checked=True: the caller asked `suppressed` in this transaction a moment ago (once per reply).
        A `Link` in the context is rendered as a placeholder, signed into a URL only when sent."""
        if why := unanswerable(to):
            kind = "reply_unanswerable"
            audit.by(session, kind, actor, customer_id=customer_id, template=template, why=why)
            return None
        client = caps.client_of(session, actor.message_id) if capped else None
        why = caps.suppressed(session, self.cfg, to, client, now) if capped and not checked else None
        if why is not None:
            audit.by(session, "reply_suppressed", actor, customer_id=customer_id, template=template, why=why)
            return None
        failing = unreachable.suppressed(session, to, customer_id, actor)
        links: dict[str, Any] = {}
        context = {name: _placeholders(value, links) for name, value in context.items()}
        subject, body = render_mail(self.templates, template, shop=self.cfg.shop, **context)
        refs = thread_id(actor.reply_to) if thread else ""
        row = Outbox(
            to_addr=to,
            to_key=mailbox_key(to),
            template=template,
            subject=subject,
            body=body,
            links=links or None,
            header_message_id=f"{uuid.uuid4().hex}@{domain_of(self.cfg.sender)}",
            in_reply_to=refs,
            references=refs,
            cause_message_id=actor.message_id,
            customer_id=customer_id,
            capped=capped,
            reply_address=reply_address,
            calendar=calendar,
            created_at=now,
            next_attempt_at=now,
        )
        if failing:  # kept, never sent: the operator sees what the customer did not get, and why
            row.state, row.last_error = OutboxState.SUPPRESSED, failing
        add_now(session, row)
        if capped:
            caps.added(session, "replies", now, *caps.reply_keys(to, client))
        audit.by(
            session,
            "mail_suppressed" if failing else "mail_queued",
            actor,
            customer_id=customer_id,
            outbox_id=row.id,
            template=template,
            to=to,
        )
        return row

    def suppressed(self, session: Session, to: str, now: datetime, actor: Actor) -> str | None:
        """Why an automatic reply to `to`, caused by `actor`'s message, must not go; None: it may."""
        return caps.suppressed(session, self.cfg, to, caps.client_of(session, actor.message_id), now)


def _placeholders(value: object, links: dict[str, Any]) -> object:
    """A Link (also in a list or dict: one per booking of a list) as a placeholder no customer's text
    can guess; `links` gets what each stands for."""
    if isinstance(value, Link):
        placeholder = f"[[link-{secrets.token_hex(8)}]]"
        links[placeholder] = [value.purpose, value.token_id]
        return placeholder
    if isinstance(value, list):
        return [_placeholders(v, links) for v in value]
    if isinstance(value, dict):
        return {k: _placeholders(v, links) for k, v in value.items()}
    return value
