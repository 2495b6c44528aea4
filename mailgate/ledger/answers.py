"""Answers to a menu's questions (choice, checkbox, free text), checked against the questions and
kept with the booking in its own transaction, as asked and as answered: a later edit of the
questions does not change what a booking's customer was asked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlmodel import Session, col, select

from mailgate.ledger.fit_rules import refuse
from mailgate.models import Booking
from mailgate.shop.calendar import Menu, Question
from mailgate.shop_tables import BookingAnswer

SEP = "、"  # between the options ticked of a checkbox question
MAX_TEXT = 1000


def problem(question: Question, answer: str) -> str:
    """What is wrong with an answer, in the customer's words; "" when it is fine."""
    if not answer:
        return "お答えください。" if question.required else ""
    if len(answer) > MAX_TEXT:
        return f"{MAX_TEXT}文字までで入力してください。"
    if question.kind == "choice" and answer not in question.options:
        return "選択肢からお選びください。"
    if question.kind == "checkbox" and not set(answer.split(SEP)) <= set(question.options):
        return "選択肢からお選びください。"
    return ""


def asked(question: Question) -> str:
    """A question as the list mail asks it: 「ご来店は初めてですか(はい/いいえ から1つ・必須)」."""
    how = {"choice": "から1つ", "checkbox": "からいくつでも"}.get(question.kind, "")
    notes = [f"{'/'.join(question.options)} {how}"] if question.options else []
    notes += ["必須"] if question.required else []
    return question.text + (f"({'・'.join(notes)})" if notes else "")


def from_mail(question: Question, line: str) -> str:
    """A line of a reply as the answer: an option by its words or its number (1 for the first);
    several for a checkbox question, split at 、 , / or spaces."""
    line = line.strip()
    if question.kind == "text" or not line:
        return line
    parts = [p for p in re.split(r"[、,/\s]+", line) if p] if question.kind == "checkbox" else [line]
    chosen = []
    for part in parts:
        number = int(part) if part.isascii() and part.isdigit() else 0
        chosen.append(question.options[number - 1] if 1 <= number <= len(question.options) else part)
    return (
        SEP.join(o for o in question.options if o in chosen) if set(chosen) <= set(question.options) else line
    )


def check(menu: Menu, answers: Sequence[str]) -> None:
    """Refused('answers') when a required question is unanswered or an answer is not one offered."""
    given = [*answers, *[""] * (len(menu.questions) - len(answers))]
    if len(given) > len(menu.questions):
        raise refuse("answers", f"{len(answers)} answers to {len(menu.questions)} questions")
    for question, answer in zip(menu.questions, given, strict=True):
        if problem(question, answer):
            raise refuse("answers", f"the answer to {question.text!r} is missing or not one offered")


def record(session: Session, booking: Booking, menu: Menu, answers: Sequence[str]) -> None:
    for position, (question, answer) in enumerate(zip(menu.questions, answers, strict=False)):
        if answer:
            session.add(
                BookingAnswer(
                    booking_id=booking.id or 0, position=position, question=question.text, answer=answer
                )
            )
    session.flush()


def lines_of(session: Session, booking_ids: Sequence[int | None]) -> dict[int, list[str]]:
    """Each booking's answers as staff read them: 「ご来店は初めてですか: はい」."""
    ids = [i for i in booking_ids if i is not None]
    if not ids:
        return {}
    stmt = (
        select(BookingAnswer)
        .where(col(BookingAnswer.booking_id).in_(ids))
        .order_by(col(BookingAnswer.booking_id), col(BookingAnswer.position))
    )
    found: dict[int, list[str]] = {}
    for row in session.exec(stmt):
        found.setdefault(row.booking_id, []).append(f"{row.question}: {row.answer}")
    return found


def lines(session: Session, booking_id: int | None) -> list[str]:
    return lines_of(session, [booking_id]).get(booking_id or 0, [])
