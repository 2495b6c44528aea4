"""What a ledger command did, for whoever asked: the pipeline turns it into a message's state, a page
into a screen, the CLI into a line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    CREATED = "created"
    LINKED = "linked"  # a booking staff typed in by hand now carries the vendor's number
    ALREADY = "already"  # nothing to do: it was done before (a redelivery, a replay, a double submit)
    MOVED = "moved"
    CANCELLED = "cancelled"
    CONFLICT = "conflict"  # created or moved, and it clashes: recorded, flagged, staff alerted
    REFUSED = "refused"  # cannot be done as asked (e.g. moving a cancelled booking)
    NOT_FOUND = "not_found"  # no booking to move or cancel
    RECORDED = "recorded"  # an inquiry
    TAKEN = "taken"  # the time or seat was free a moment ago and is not now (ちょうど埋まりました)
    CONFIRMED = "confirmed"  # a tentative booking confirmed by its link
    EXPIRED = "expired"  # too late: the tentative booking's hold ran out
    SUPPRESSED = "suppressed"  # a reply a limit did not let go: an operator should see it


@dataclass(frozen=True)
class Result:
    status: Status
    reason: str
    booking_id: int | None = None
    conflicts: tuple[str, ...] = ()
    code: str = ""  # why refused, for a page or a mail to word it: late, too_far, limit, menu ...
    state: str = ""  # the booking's state after the command
    subject: str = ""  # what the code is about, for its words (the add-on out of stock)
