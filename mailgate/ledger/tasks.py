"""The work queue across customers: operators' notes not done yet, and inquiries someone must act on
(an assignee or a next-action day), by next-action day, the overdue ones first and marked. The
morning report calls `due_tasks`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, or_, select

from mailgate.models import Customer, Inquiry, InquiryStatus
from mailgate.notes_tables import Note, NoteStatus

NOTE, INQUIRY = "note", "inquiry"
KIND_LABELS = {NOTE: "メモ", INQUIRY: "問い合わせ"}
INQUIRY_LABELS = {
    InquiryStatus.OPEN: "未対応",
    InquiryStatus.WAITING: "お客様待ち",
    InquiryStatus.DONE: "完了",
}
_ASKED = {"booking_request": "予約リクエスト", "question": "質問"}


@dataclass(frozen=True)
class Task:
    kind: str  # note | inquiry
    id: int
    customer_id: int | None
    customer: str  # the name, else the address, as the shop knows them
    title: str
    status: str
    status_label: str
    assignee: str
    next_on: date | None
    overdue: bool  # next_on before the day the queue is for


def tasks(
    session: Session,
    day: date,
    *,
    assignee: str | None = None,
    open_only: bool = True,
    due: bool = False,
) -> list[Task]:
    """The queue as of `day` (the shop's date): `due` keeps what is due on or before it."""
    notes = select(Note)
    inquiries = select(Inquiry).where(or_(Inquiry.assignee != "", col(Inquiry.next_action_on).is_not(None)))
    if open_only:
        notes = notes.where(col(Note.status).in_(NoteStatus.OPEN))
        inquiries = inquiries.where(Inquiry.status != InquiryStatus.DONE)
    if assignee is not None:
        notes = notes.where(Note.assignee == assignee.strip())
        inquiries = inquiries.where(Inquiry.assignee == assignee.strip())
    if due:
        notes = notes.where(col(Note.next_on) <= day)
        inquiries = inquiries.where(col(Inquiry.next_action_on) <= day)
    found_notes, found_inquiries = list(session.exec(notes)), list(session.exec(inquiries))
    ids = {n.customer_id for n in found_notes} | {q.customer_id for q in found_inquiries if q.customer_id}
    people = {c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_(ids)))} if ids else {}

    def known(cid: int | None, fallback: str = "") -> str:
        who = people.get(cid)
        return (who.name or who.email if who else "") or fallback

    found = [
        Task(
            NOTE,
            n.id or 0,
            n.customer_id,
            known(n.customer_id),
            n.title,
            n.status,
            NoteStatus.LABELS.get(n.status, n.status),
            n.assignee,
            n.next_on,
            n.next_on is not None and n.next_on < day,
        )
        for n in found_notes
    ] + [
        Task(
            INQUIRY,
            q.id or 0,
            q.customer_id,
            known(q.customer_id, q.name or q.email),
            _inquiry_title(q),
            q.status,
            INQUIRY_LABELS.get(q.status, q.status),
            q.assignee,
            q.next_action_on,
            q.next_action_on is not None and q.next_action_on < day,
        )
        for q in found_inquiries
    ]
    return sorted(found, key=lambda t: (t.next_on is None, t.next_on or day, t.kind, t.id))


def due_tasks(session: Session, day: date) -> list[Task]:
    """What is due on `day` or overdue and not done: the morning report's list."""
    return tasks(session, day, due=True)


def _inquiry_title(q: Inquiry) -> str:
    first = next((line.strip() for line in q.body.splitlines() if line.strip()), "")
    return f"{_ASKED.get(q.kind, q.kind)}: {first[:60]}" if first else _ASKED.get(q.kind, q.kind)
