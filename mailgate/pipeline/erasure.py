"""Erasing a person end to end: the ledger's erase in one transaction, then what lives outside the
database (their raw mail in the spool, copies of sent mail in the outbox Maildir), then SQLite's WAL,
which still holds the pages as they were."""

from __future__ import annotations

from datetime import datetime

from mailgate import db
from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.ledger import erasure
from mailgate.ledger.erasure import Erased
from mailgate.models import Customer, utcnow
from mailgate.outbound import maildir


def finish(ctx: Context, erased: Erased) -> None:
    """After the erase committed: the files it names, and the WAL."""
    for path in erased.spool_files:
        spool.remove(ctx.cfg.spool_dir, path)
    for name in erased.maildir_names:
        maildir.remove(ctx.cfg.outbox_dir, name)
    db.forget(ctx.engine)


def erase_customer(ctx: Context, customer_id: int, actor: str, now: datetime | None = None) -> Erased:
    """An operator's erase. LookupError when there is no such customer."""
    with db.transaction(ctx.engine) as s:
        customer = s.get(Customer, customer_id, with_for_update=True)
        if customer is None:
            raise LookupError(f"no customer {customer_id}")
        if customer.merged_into is not None:  # an empty row: the person is the kept customer now
            raise LookupError(
                f"customer {customer_id} was merged into {customer.merged_into}: erase that one"
            )
        erased = erasure.erase(s, customer, now or utcnow(), actor, None)
    finish(ctx, erased)
    return erased
