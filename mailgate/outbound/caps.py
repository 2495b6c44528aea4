"""Limits on automatic replies to unknown or unverified senders (a blank mail's From can be anyone's):
per mailbox, per SMTP client and in all, each an hour. Only rows queued `capped` count: mail owed to
a customer who acted through a link is neither limited nor counted.

A batch of messages recorded in one transaction asks the database for each count once: on SQLite
nothing else can queue mail until the transaction ends (db.sole_writer), so a count read at its
start plus the replies it queued itself is the count. On PostgreSQL other nodes queue meanwhile: each
reply is counted afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from mailgate import db
from mailgate.config import Config
from mailgate.mail.addresses import domain_of, is_address_literal, mailbox_key
from mailgate.models import Message, Outbox

HOUR = timedelta(hours=1)
Key = tuple[str, str | None]  # ("to", mailbox key) | ("client", address) | ("all", None)


@dataclass
class Counts:
    """What was counted in this transaction for the hour before `now`, kept up to date with what it
    adds (`added`); a different `now` counts again."""

    now: datetime
    values: dict[Key, int] = field(default_factory=dict)

    def count(self, session: Session, key: Key, stmt: Callable[[], SelectOfScalar[int]]) -> int:
        """`stmt` builds the query (only when it is asked: building one costs as much as running it)."""
        if key not in self.values:
            self.values[key] = session.exec(stmt()).one()
        return self.values[key]

    def added(self, *keys: Key) -> None:
        for key in keys:
            if key in self.values:
                self.values[key] += 1


def kept_counts(session: Session, name: str, now: datetime) -> Counts:
    """This transaction's counts under `name` at `now`: kept on SQLite, fresh each time otherwise."""
    if not db.sole_writer(session):
        return Counts(now)
    counts = db.kept(session, name, lambda: Counts(now))
    if counts.now != now:
        counts = Counts(now)
        db.forget_kept(session, name)
        db.kept(session, name, lambda: counts)
    return counts


def added(session: Session, name: str, now: datetime, *keys: Key) -> None:
    """A row these counts count was added at `now` in this transaction."""
    counts = db.kept_already(session, name)
    if not isinstance(counts, Counts):
        return
    if counts.now == now:
        counts.added(*keys)
    else:
        db.forget_kept(session, name)


def client_of(session: Session, message_id: int | None) -> str | None:
    """The SMTP client a message came from; None for IMAP, files, and what no message caused.
    The worker has the message loaded already: no query then."""
    if message_id is None:
        return None
    message = session.get(Message, message_id)
    return message.client if message is not None else None


def _capped_since(since: datetime) -> SelectOfScalar[int]:
    return select(func.count()).select_from(Outbox).where(col(Outbox.capped), col(Outbox.created_at) > since)


def _client_capped(since: datetime, client: str | None) -> SelectOfScalar[int]:
    stmt = _capped_since(since).join(Message, col(Message.id) == col(Outbox.cause_message_id))
    # Counted from the hour's rows: through the index on the client, a relay's every message ever.
    return stmt.where(db.unindexed(col(Message.client)) == client)


def reply_keys(to: str, client: str | None) -> tuple[Key, ...]:
    return (("to", mailbox_key(to)), ("client", client), ("all", None))


def suppressed(session: Session, cfg: Config, to: str, client: str | None, now: datetime) -> str | None:
    """Why an automatic reply to `to` (caused by mail from `client`) must not be sent; None: send it."""
    if is_address_literal(to):
        return f"an address literal ({domain_of(to)}) is not answered"
    limits, since = cfg.mail, now - HOUR
    counts = kept_counts(session, "replies", now)
    key = mailbox_key(to)
    if counts.count(session, ("to", key), lambda: _capped_since(since).where(Outbox.to_key == key)) >= (
        limits.replies_per_hour
    ):
        return f"more than {limits.replies_per_hour} mails to this address ({key}) in an hour"
    if client is not None:
        mine = counts.count(session, ("client", client), lambda: _client_capped(since, client))
        if mine >= limits.replies_per_client_hour:
            return (
                f"more than {limits.replies_per_client_hour} automatic replies to mail from client "
                f"{client} in an hour"
            )
    if counts.count(session, ("all", None), lambda: _capped_since(since)) >= limits.replies_total_hour:
        return f"more than {limits.replies_total_hour} automatic replies in an hour"
    return None


def count_mailboxes(session: Session, now: datetime, addresses: Iterable[str]) -> None:
    """The per-mailbox counts of these addresses (a batch's senders, who may be answered), read
    together with one GROUP BY instead of one count per reply. Only where the counts are kept for
    the transaction (SQLite): elsewhere each reply is counted afresh anyway."""
    if not db.sole_writer(session):
        return
    counts = kept_counts(session, "replies", now)
    keys = {mailbox_key(a) for a in addresses if a} - {k for kind, k in counts.values if kind == "to"}
    if not keys:
        return
    stmt = (
        select(Outbox.to_key, func.count())
        .where(col(Outbox.capped), col(Outbox.created_at) > now - HOUR, col(Outbox.to_key).in_(keys))
        .group_by(col(Outbox.to_key))
    )
    found: dict[str, int] = dict(session.exec(stmt).all())  # type: ignore[arg-type]
    for key in keys:
        counts.values[("to", key)] = found.get(key, 0)
