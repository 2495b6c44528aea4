"""Tables of the customer history's own entries: the operators' notes (a CRM's contact log, with a
status, an assignee and a next-action date) and the saved phrases they start from (ledger/notes.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import Text
from sqlmodel import Field

from mailgate.models import UTCDateTime, utcnow
from mailgate.table_base import Table


class NoteStatus:
    """Stable English keys in the database and in --json; the shop reads the Japanese labels."""

    WAITING = "waiting"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ALL = (WAITING, IN_PROGRESS, DONE)
    OPEN = (WAITING, IN_PROGRESS)
    LABELS: ClassVar[dict[str, str]] = {WAITING: "対応待ち", IN_PROGRESS: "対応中", DONE: "完了"}


class Note(Table, table=True):
    """One operator's note on a customer: what was said or must be done, by whom, and by when."""

    __tablename__ = "customer_note"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=Text)
    status: str = Field(default=NoteStatus.WAITING, max_length=16, index=True)
    assignee: str = Field(default="", max_length=100)
    next_on: date | None = Field(default=None, index=True)  # the next action's day, in the shop's zone
    created_by: str = Field(max_length=100)  # the operator's name
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_by: str = Field(default="", max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class Phrase(Table, table=True):
    """A saved title and body for a note written often (定型文), chosen by its name."""

    __tablename__ = "note_phrase"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=Text)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
