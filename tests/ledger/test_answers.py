"""Answers to a menu's questions, on SQLite and PostgreSQL: kept with the booking as asked, and a
booking whose required answer is missing or not one offered is refused with nothing booked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session, func, select

from mailgate.config.sections import QuestionEntry
from mailgate.context import Context
from mailgate.ledger import answers
from mailgate.ledger.results import Status
from mailgate.models import Booking
from tests.ledger.test_addons import HOURS, book, shop_of

SHOP = f"""staff = [{{ name = "佐藤" }}]
[[shop.menus]]
name = "整体"
minutes = 60
questions = [
  {{ text = "ご来店は初めてですか", kind = "choice", options = ["はい", "いいえ"], required = true }},
  {{ text = "ご要望" }},
]
{HOURS}"""


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    return shop_of(tmp_path, db_url, SHOP)


def booked(ctx: Context) -> int:
    with Session(ctx.engine) as s:
        return int(s.exec(select(func.count()).select_from(Booking)).one())


def test_the_answers_are_kept_with_the_booking_as_asked(salon: Context) -> None:
    done = book(salon, answers=("いいえ", "肩を重点的に"))
    assert done.status == Status.CREATED
    with Session(salon.engine) as s:
        assert answers.lines(s, done.booking_id) == ["ご来店は初めてですか: いいえ", "ご要望: 肩を重点的に"]


def test_a_missing_required_answer_or_one_not_offered_books_nothing(salon: Context) -> None:
    for given in [("",), ("", "肩を"), ("たぶん",), ("はい", "x", "one too many")]:
        refused = book(salon, answers=given)
        assert (refused.status, refused.code) == (Status.REFUSED, "answers"), given
    assert booked(salon) == 0


def test_a_booking_that_was_asked_nothing_at_the_desk_is_made_without_answers(
    salon: Context,
) -> None:
    done = book(salon)  # no answers: nothing was asked
    assert done.status == Status.CREATED
    with Session(salon.engine) as s:
        assert answers.lines(s, done.booking_id) == []


def test_a_choice_question_without_options_is_a_config_mistake() -> None:
    with pytest.raises(ValidationError, match="needs options"):
        QuestionEntry(text="ご来店は初めてですか", kind="choice")
