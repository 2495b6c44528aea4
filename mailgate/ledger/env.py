"""What the ledger needs from a running mailgate, and nothing more: the configuration, the shop's
calendar, the outgoing-mail queue and the link signer. The ledger never sees the runtime context,
the pipeline or the rules; the pages, the CLI and the pipeline all hand it this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailgate.config import Config
from mailgate.links import Signer
from mailgate.outbound.queue import Mailer
from mailgate.shop.calendar import Calendar


@dataclass(frozen=True)
class LedgerEnv:
    cfg: Config
    mailer: Mailer
    signer: Signer
    calendars: Callable[[], Calendar]  # the calendar in force now (the shift table can change)

    @property
    def calendar(self) -> Calendar:
        return self.calendars()
