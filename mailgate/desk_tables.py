"""Tables of the operator's desk: whether the customer of a booking came (来訪チェック)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from mailgate.models import UTCDateTime, utcnow
from mailgate.table_base import Table


class VisitState:
    ARRIVED = "arrived"  # checked in at the counter
    NO_SHOW = "no_show"  # did not come
    ALL = (ARRIVED, NO_SHOW)


class Visit(Table, table=True):
    """At most one per booking: marked by an operator, removed again by an undo. No customer here:
    the booking's customer counts (a merge of customers moves bookings, and their visits with them)."""

    booking_id: int = Field(primary_key=True, foreign_key="booking.id")
    state: str = Field(max_length=16, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    operator: str = Field(default="", max_length=100)
