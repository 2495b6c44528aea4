"""Limits on automatic replies to unknown or unverified senders (a blank mail's From can be anyone's):
per mailbox, per SMTP client and in all, each an hour. Only rows queued `capped` count: mail owed to
a customer who acted through a link is neither limited nor counted.

A batch of messages recorded in one transaction asks the database for each count once: on SQLite
nothing else can queue mail until the transaction ends (db.sole_writer), so a count read at its
start plus the replies it queued itself is the count, and the hour's counts are brought forward from
the last batch's (`hour_tally`) instead of read from all the hour's rows. On PostgreSQL other nodes
queue meanwhile: each reply is counted afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from mailgate import db, write_now
from mailgate.config import Config
from mailgate.mail.addresses import domain_of, is_address_literal, mailbox_key
from mailgate.models import Message, Outbox
from mailgate.outbound import hour_tally
from mailgate.outbound.hour_tally import Window

HOUR = timedelta(hours=1)
Key = tuple[str, str | None]  # ("to", mailbox key) | ("client", address) | ("all", None)


def _no_bound() -> int | None:
    return None


@dataclass
class Counts:
    """What was counted in this transaction for the hour before `now`, kept up to date with what it
    adds (`added`); a different `now` counts again. A value may be an upper bound below its limit
    instead of the count (`bounded`): it is read again once what was added brings it to the limit."""

    now: datetime
    values: dict[Key, int] = field(default_factory=dict)
    bounded: set[Key] = field(default_factory=set)

    def reached(
        self,
        key: Key,
        limit: int,
        read: Callable[[], int],
        bound: Callable[[], int | None] = _no_bound,
    ) -> bool:
        """Whether the count under `key` is at `limit`. `read` counts and `bound` bounds it (None: it
        cannot), only when asked: building a query costs as much as running it."""
        if key not in self.values or (key in self.bounded and self.values[key] >= limit):
            at_most = bound()
            if at_most is not None and at_most < limit:
                self.values[key] = at_most
                self.bounded.add(key)
            else:
                self.values[key] = read()  # this transaction's own rows included
                self.bounded.discard(key)
        return self.values[key] >= limit

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


def _capped(by_client: bool) -> Window:
    """The hour's capped replies (caused by mail from the parameter `client`, if `by_client`)."""
    rows = select(Outbox.id).where(col(Outbox.capped), col(Outbox.created_at) > bindparam("since"))
    if by_client:
        rows = rows.join(Message, col(Message.id) == col(Outbox.cause_message_id))
        # Counted from the hour's rows: through the index on the client, a relay's every message ever.
        rows = rows.where(db.unindexed(col(Message.client)) == bindparam("client"))
    return Window(rows, Outbox.id, Outbox.id, Outbox.created_at)  # type: ignore[arg-type]


_REPLIES = {by_client: _capped(by_client) for by_client in (False, True)}


def reply_keys(to: str, client: str | None) -> tuple[Key, ...]:
    return (("to", mailbox_key(to)), ("client", client), ("all", None))


def suppressed(session: Session, cfg: Config, to: str, client: str | None, now: datetime) -> str | None:
    """Why an automatic reply to `to` (caused by mail from `client`) must not be sent; None: send it."""
    if is_address_literal(to):
        return f"an address literal ({domain_of(to)}) is not answered"
    limits, since = cfg.mail, now - HOUR
    counts = kept_counts(session, "replies", now)
    key = mailbox_key(to)
    if counts.reached(("to", key), limits.replies_per_hour, _to_mailbox(session, key, since)):
        return f"more than {limits.replies_per_hour} mails to this address ({key}) in an hour"
    most = limits.replies_per_client_hour
    if client is not None and counts.reached(("client", client), most, *_in_hour(session, client, since)):
        return f"more than {most} automatic replies to mail from client {client} in an hour"
    if counts.reached(("all", None), limits.replies_total_hour, *_in_hour(session, None, since)):
        return f"more than {limits.replies_total_hour} automatic replies in an hour"
    return None


def _to_mailbox(session: Session, key: str, since: datetime) -> Callable[[], int]:
    return lambda: session.exec(_capped_since(since).where(Outbox.to_key == key)).one()


def _in_hour(
    session: Session, client: str | None, since: datetime
) -> tuple[Callable[[], int], Callable[[], int | None]]:
    """The hour's capped replies (to mail from `client`, if one is named): counted, and bounded."""
    params = {"client": client}
    return hour_tally.asked(session, ("replies", client), _REPLIES[client is not None], since, params)


_BY_MAILBOX = (
    select(Outbox.to_key, func.count())
    .where(
        col(Outbox.capped),
        col(Outbox.created_at) > bindparam("since"),
        col(Outbox.to_key).in_(bindparam("keys", expanding=True)),
    )
    .group_by(col(Outbox.to_key))
)  # built once


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
    params = {"since": now - HOUR, "keys": sorted(keys)}
    found: dict[str, int] = {key: n for key, n in write_now.columns(session, _BY_MAILBOX, params)}
    for key in keys:
        counts.values[("to", key)] = found.get(key, 0)
