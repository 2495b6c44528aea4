"""Links about one booking: confirm a tentative one (仮予約), change it, cancel it. Each is bound to the
booking's version when it was mailed: after a change the old links stop working (the newer mail has
the links that do), and a cancel link works once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailgate import tokens
from mailgate.links import Link, LinkError, Signer
from mailgate.models import Booking, BookingStatus, Token

PURPOSES = ("confirm", "change", "cancel", "claim")  # claim: a waitlist offer's held seat


def issue(session: Session, booking: Booking, purpose: str, now: datetime) -> Link:
    """A link for the booking as it is now; it works until the start (a confirm link: until the hold ends)."""
    assert purpose in PURPOSES and booking.id is not None and booking.customer_id is not None
    until = booking.expires_at if purpose in ("confirm", "claim") else booking.start
    token = Token(
        purpose=purpose,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        booking_version=booking.version,
        created_at=now,
        expires_at=until,
    )
    session.add(token)
    session.flush()
    return Link(purpose, token.id or 0)


def open_link(
    session: Session, signer: Signer, purpose: str, signed: str, now: datetime, *, lock: bool = False
) -> tuple[Token, Booking]:
    """The live link's token and its booking, or LinkError: 'changed' when the booking moved on,
    'ended' when it was cancelled or its hold ran out since."""
    token = tokens.lookup(session, signer, purpose, signed, now, lock=lock)
    booking = session.get(Booking, token.booking_id) if token.booking_id is not None else None
    if booking is None:
        raise LinkError("tampered")
    if booking.version != token.booking_version:
        ended = booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
        raise LinkError("ended" if ended else "changed")
    return token, booking


def used_by(session: Session, signer: Signer, purpose: str, signed: str) -> Booking | None:
    """The booking of a link already used (a double tap, or opened again after it acted): the page
    then shows what the booking is now. None for a link that was never ours."""
    token = session.get(Token, signer.verify(purpose, signed, max_age_seconds=None))
    if token is None or token.purpose != purpose or token.used_at is None or token.booking_id is None:
        return None
    return session.get(Booking, token.booking_id)
