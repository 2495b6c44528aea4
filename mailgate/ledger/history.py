"""A customer's history, like a CRM's contact log: every mail in and out, every booking event and the
operators' notes, in time order. `read` finds the rows; `merge` (pure) makes them one timeline;
`describe` words an audit event's detail for people (also `mailgate audit`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import Session, col, select

from mailgate.ledger.erasure import messages_of
from mailgate.models import Booking, Customer, Event, Message, Outbox
from mailgate.notes_tables import Note, NoteStatus

MAIL_IN, MAIL_OUT, EVENT, NOTE = "mail in", "mail out", "event", "note"
# Events the timeline shows through their own rows: the mail queued is its outbox row, the note its note.
_SHOWN_AS_ROW = {"mail_queued": "outbox_id", "mail_suppressed": "outbox_id", "note_added": "note_id"}
_REFS = (
    ("booking_id", "booking"),
    ("note_id", "note"),
    ("inquiry_id", "inquiry"),
    ("conflict_id", "conflict"),
)
_IDS = ("customer_id", "booking_id", "outbox_id", "note_id", "conflict_id", "inquiry_id", "at")


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # mail in | mail out | event | note
    ref: str  # what to look at next: "message 12", "outbox 3", "booking 5", "note 2"
    what: str
    by: str  # the sender, the operator, the link or message that caused it, "system"
    detail: dict[str, Any] = field(default_factory=dict)


def read(session: Session, customer: Customer, since: datetime | None, tz: tzinfo) -> list[Entry]:
    """The customer's history from `since` (None: all of it)."""
    cid = customer.id
    ids = messages_of(session, customer)
    messages = select(Message).where(col(Message.id).in_(ids)) if ids else None
    outbox = select(Outbox).where(Outbox.customer_id == cid)
    events = select(Event).where(Event.customer_id == cid)
    notes = select(Note).where(Note.customer_id == cid)
    bookings = select(Booking).where(Booking.customer_id == cid)
    if since is not None:
        messages = messages.where(Message.received_at >= since) if messages is not None else None
        outbox = outbox.where(Outbox.created_at >= since)
        events = events.where(Event.at >= since)
        notes = notes.where(Note.created_at >= since)
        bookings = bookings.where(Booking.created_at >= since)
    return merge(
        session.exec(messages) if messages is not None else [],
        session.exec(outbox),
        session.exec(events),
        session.exec(notes),
        session.exec(bookings),
        tz,
    )


def merge(
    messages: Iterable[Message],
    outbox: Iterable[Outbox],
    events: Iterable[Event],
    notes: Iterable[Note],
    bookings: Iterable[Booking],
    tz: tzinfo,
) -> list[Entry]:
    """One timeline, oldest first; an event that only says a row was made gives way to the row, and
    a booking appears by itself only when no event tells of it (imported, or from before the audit)."""
    outbox, notes, events = list(outbox), list(notes), list(events)
    entries = [
        Entry(
            m.received_at,
            MAIL_IN,
            f"message {m.id}",
            f"{m.subject or '(no subject)'} [{m.state}{': ' + m.reason if m.reason else ''}]",
            m.from_addr or "-",
            {"to": m.rcpt, "via": m.via},
        )
        for m in messages
    ]
    sent = {row.id for row in outbox}
    entries += [
        Entry(
            row.created_at,
            MAIL_OUT,
            f"outbox {row.id}",
            f"{row.template}: {row.subject} [{row.state}]",
            row.to_addr or "-",
            {"sent_at": row.sent_at.isoformat() if row.sent_at else None, "error": row.last_error or None},
        )
        for row in outbox
    ]
    entries += [
        Entry(
            n.created_at,
            NOTE,
            f"note {n.id}",
            f"{n.title} [{NoteStatus.LABELS.get(n.status, n.status)}]"
            + (f" → {n.assignee}" if n.assignee else "")
            + (f" next {n.next_on}" if n.next_on else ""),
            f"operator:{n.created_by}",
            {"body": n.body, "updated_by": n.updated_by, "updated_at": n.updated_at.isoformat()},
        )
        for n in notes
    ]
    told = {e.detail.get("booking_id") for e in events}
    entries += [
        Entry(
            b.created_at,
            EVENT,
            f"booking {b.id}",
            f"on the ledger: {_slot({'start': b.start.isoformat(), 'staff': b.staff, 'menu': b.menu}, tz)}"
            f" [{b.status}] from {b.source}",
            b.source,
        )
        for b in bookings
        if b.id not in told
    ]
    rows = {"outbox_id": sent, "note_id": {n.id for n in notes}}
    for e in events:
        shown_by = _SHOWN_AS_ROW.get(e.kind)
        if shown_by and e.detail.get(shown_by) in rows[shown_by]:
            continue
        ref = next((f"{name} {e.detail[key]}" for key, name in _REFS if e.detail.get(key)), f"event {e.id}")
        entries.append(Entry(e.at, EVENT, ref, describe(e.kind, e.detail, tz), e.actor, e.detail))
    return sorted(entries, key=lambda x: (x.at, x.kind, x.ref))


def describe(kind: str, detail: dict[str, Any], tz: tzinfo) -> str:
    """`booking_moved: 12-05 14:00 佐藤 → 12-06 15:00 田中`: an event and what it changed."""
    said = changed(detail, tz)
    return f"{kind}: {said}" if said else kind


def changed(detail: dict[str, Any], tz: tzinfo) -> str:
    """What an event's detail says it changed, times in the shop's zone, ids left to their columns."""
    if isinstance(detail.get("before"), dict) and isinstance(detail.get("after"), dict):
        return f"{_slot(detail['before'], tz)} → {_slot(detail['after'], tz)}"
    if isinstance(detail.get("changes"), dict):
        return ", ".join(f"{k} {a or '-'} → {b or '-'}" for k, (a, b) in detail["changes"].items())
    rest = []
    for key, value in detail.items():
        if key in _IDS or value in (None, "", [], {}):
            continue
        shown = _local(value, tz) if key == "start" else value
        rest.append(f"{key}={' / '.join(map(str, shown)) if isinstance(shown, list) else shown}")
    return " ".join(rest)


def _slot(value: dict[str, Any], tz: tzinfo) -> str:
    return " ".join(
        str(x) for x in (_local(value.get("start"), tz), value.get("staff"), value.get("menu")) if x
    )


def _local(value: Any, tz: tzinfo) -> Any:
    """An ISO time from an event's detail in the shop's zone, to the minute."""
    if not isinstance(value, str):
        return value
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{at.astimezone(tz):%Y-%m-%d %H:%M}" if at.tzinfo else value


def causes(session: Session, events: Iterable[Event]) -> dict[str, str]:
    """Each event's actor in words, for `mailgate audit`: the mail (its sender and subject), the link
    that was used, the operator by name."""
    actors = {e.actor for e in events}
    ids = [int(a.split(":")[1]) for a in actors if a.startswith("message:") and a.split(":")[1].isdigit()]
    mails = {m.id: m for m in session.exec(select(Message).where(col(Message.id).in_(ids)))} if ids else {}
    said: dict[str, str] = {}
    for actor in actors:
        what, _, rest = actor.partition(":")
        if what == "message" and rest.isdigit() and int(rest) in mails:
            m = mails[int(rest)]
            said[actor] = (
                f"mail {rest} from {m.from_addr or '-'} 「{m.subject or '(no subject)'}」 via {m.via}"
            )
        elif what == "link":
            purpose, _, token = rest.partition(":")
            said[actor] = f"the customer's {purpose} link (token {token})"
        elif what == "operator":
            said[actor] = f"operator {rest}"
        else:
            said[actor] = actor
    return said
