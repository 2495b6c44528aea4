"""A menu's questions on the confirmation page (no script): a choice as radio buttons, a checkbox
question as checkboxes, free text as a text field; read back from the posted form, with the customer's
words for an answer missing or not offered (ledger/answers.py checks them again when booking)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from mailgate.ledger import answers
from mailgate.shop.calendar import Menu


def _name(i: int) -> str:
    return f"q{i}"


def _box(i: int, j: int) -> str:
    return f"q{i}_{j}"


def _answer(menu: Menu, i: int, form: Mapping[str, str]) -> str:
    question = menu.questions[i]
    if question.kind == "checkbox":
        ticked = [o for j, o in enumerate(question.options) if form.get(_box(i, j)) == "1"]
        return answers.SEP.join(ticked)
    return unicodedata.normalize("NFKC", form.get(_name(i), "")).strip()


def read(menu: Menu, form: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """The answers in the order of the questions, and what is wrong with them by field."""
    given = tuple(_answer(menu, i, form) for i in range(len(menu.questions)))
    errors = {
        _name(i): wrong
        for i, (q, a) in enumerate(zip(menu.questions, given, strict=True))
        if (wrong := answers.problem(q, a))
    }
    return given, errors


def typed(menu: Menu, form: Mapping[str, str]) -> dict[str, str]:
    """The fields as posted, to show them again with the mistakes."""
    keys = [_name(i) for i in range(len(menu.questions))]
    keys += [_box(i, j) for i, q in enumerate(menu.questions) for j in range(len(q.options))]
    return {k: form[k] for k in keys if k in form}


def labels(menu: Menu) -> dict[str, str]:
    return {_name(i): q.text for i, q in enumerate(menu.questions)}


def fields(menu: Menu, values: Mapping[str, str]) -> list[dict[str, Any]]:
    """What the template draws for each question."""
    out = []
    for i, q in enumerate(menu.questions):
        name = _name(i)
        if q.kind == "checkbox":
            options = [(_box(i, j), o, values.get(_box(i, j)) == "1") for j, o in enumerate(q.options)]
        else:
            options = [(name, o, values.get(name) == o) for o in q.options]
        out.append(
            {"name": name, "text": q.text, "kind": q.kind, "required": q.required,
             "options": options, "value": values.get(name, "")}
        )  # fmt: skip
    return out
