"""Operators' notes on customers (a CRM's contact log) and the saved phrases they start from. Each
function runs in the caller's transaction and writes its audit event with the operator's name; an
unknown id raises LookupError, a bad value ValueError (the CLI says which, exit 1)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.audit import Actor
from mailgate.models import Customer
from mailgate.notes_tables import Note, NoteStatus, Phrase

# What an operator may type for a status: the key, its Japanese label, or a spelling of the key.
_STATUS_WORDS = {
    **{key: key for key in NoteStatus.ALL},
    **{label: key for key, label in NoteStatus.LABELS.items()},
    "in-progress": NoteStatus.IN_PROGRESS,
    "inprogress": NoteStatus.IN_PROGRESS,
}


def status_key(text: str) -> str:
    """The stored key for what the operator typed (`done`, `in-progress`, `対応中` ...)."""
    key = _STATUS_WORDS.get(unicodedata.normalize("NFKC", text).strip().lower())
    if key is None:
        words = ", ".join(f"{k} ({v})" for k, v in NoteStatus.LABELS.items())
        raise ValueError(f"status must be one of {words}, got {text!r}")
    return key


def label(status: str) -> str:
    return NoteStatus.LABELS.get(status, status)


@dataclass(frozen=True)
class NoteText:
    """What a new note says and who should act on it by when."""

    title: str
    body: str = ""
    status: str = NoteStatus.WAITING
    assignee: str = ""
    next_on: date | None = None


def add_note(session: Session, customer_id: int, text: NoteText, *, operator: str, now: datetime) -> Note:
    if session.get(Customer, customer_id) is None:
        raise LookupError(f"no customer #{customer_id}")
    return _add(session, customer_id, _checked(text), operator, now)


def add_note_to_many(
    session: Session, customer_ids: Iterable[int], text: NoteText, *, operator: str, now: datetime
) -> list[Note]:
    """The same note on every customer (`note --bulk` on what a search found), each once, each with
    its own audit event; unknown ids are skipped, not an error (a search result read a moment ago)."""
    checked = _checked(text)
    ids = sorted(set(customer_ids))
    known = set(session.exec(select(Customer.id).where(col(Customer.id).in_(ids)))) if ids else set()
    return [_add(session, cid, checked, operator, now) for cid in ids if cid in known]


def _checked(text: NoteText) -> NoteText:
    title = text.title.strip()
    if not title:
        raise ValueError("a note needs a title")
    return NoteText(title, text.body.strip(), status_key(text.status), text.assignee.strip(), text.next_on)


def _add(session: Session, customer_id: int, text: NoteText, operator: str, now: datetime) -> Note:
    note = Note(
        customer_id=customer_id,
        title=text.title,
        body=text.body,
        status=text.status,
        assignee=text.assignee,
        next_on=text.next_on,
        created_by=operator,
        created_at=now,
        updated_by=operator,
        updated_at=now,
    )
    session.add(note)
    session.flush()
    # The note's words stay in its row (erasing the customer erases them); the audit names the fields.
    audit.by(
        session,
        "note_added",
        Actor.operator(operator),
        customer_id=customer_id,
        note_id=note.id,
        status=note.status,
        assignee=note.assignee,
        next_on=note.next_on.isoformat() if note.next_on else None,
        at=now,
    )
    return note


_UNSET: Any = object()


def update_note(
    session: Session,
    note_id: int,
    *,
    operator: str,
    now: datetime,
    status: str | None = None,
    assignee: str | None = None,
    next_on: date | None = _UNSET,
    title: str | None = None,
    body: str | None = None,
) -> tuple[Note, dict[str, list[Any]]]:
    """Change what is given (next_on=None clears the date); returns the note and each change as
    [before, after], which is also the audit event's detail. Nothing changed writes no event."""
    note = session.get(Note, note_id)
    if note is None:
        raise LookupError(f"no note {note_id}")
    wanted: dict[str, Any] = {}
    if status is not None:
        wanted["status"] = status_key(status)
    if assignee is not None:
        wanted["assignee"] = assignee.strip()
    if next_on is not _UNSET:
        wanted["next_on"] = next_on
    if title is not None:
        if not title.strip():
            raise ValueError("a note needs a title")
        wanted["title"] = title.strip()
    if body is not None:
        wanted["body"] = body.strip()
    changes = {k: [getattr(note, k), v] for k, v in wanted.items() if getattr(note, k) != v}
    if not changes:
        return note, {}
    for k, (_, after) in changes.items():
        setattr(note, k, after)
    note.updated_by, note.updated_at = operator, now
    session.add(note)
    shown = {
        k: ["…", "…"] if k in ("title", "body") else [_plain(a), _plain(b)] for k, (a, b) in changes.items()
    }
    audit.by(
        session,
        "note_changed",
        Actor.operator(operator),
        customer_id=note.customer_id,
        note_id=note.id,
        changes=shown,
        at=now,
    )
    return note, changes


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def notes_of(session: Session, customer_id: int) -> list[Note]:
    stmt = select(Note).where(Note.customer_id == customer_id).order_by(col(Note.created_at), col(Note.id))
    return list(session.exec(stmt))


def erase_notes(session: Session, customer_id: int) -> int:
    """Erasing a customer: their notes' words go, the rows (who, when, the status) stay."""
    count = 0
    for note in session.exec(select(Note).where(Note.customer_id == customer_id)):
        note.title, note.body = "(erased)", ""
        session.add(note)
        count += 1
    return count


# Saved phrases (定型文)


def add_phrase(session: Session, name: str, title: str, body: str, *, operator: str, now: datetime) -> Phrase:
    name, title = name.strip(), title.strip()
    if not name or not title:
        raise ValueError("a phrase needs a name and a title")
    if phrase_named(session, name) is not None:
        raise ValueError(f"a phrase named {name!r} exists; remove it first")
    phrase = Phrase(name=name, title=title, body=body.strip(), created_by=operator, created_at=now)
    session.add(phrase)
    audit.by(session, "phrase_added", Actor.operator(operator), phrase=name, at=now)
    return phrase


def phrases(session: Session) -> list[Phrase]:
    return list(session.exec(select(Phrase).order_by(col(Phrase.name))))


def phrase_named(session: Session, name: str) -> Phrase | None:
    return session.exec(select(Phrase).where(Phrase.name == name.strip())).first()


def remove_phrase(session: Session, name: str, *, operator: str, now: datetime) -> None:
    phrase = phrase_named(session, name)
    if phrase is None:
        raise LookupError(f"no phrase named {name!r} (mailgate phrases list)")
    session.delete(phrase)
    audit.by(session, "phrase_removed", Actor.operator(operator), phrase=phrase.name, at=now)
