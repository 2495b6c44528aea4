"""Rows built by mailgate's own constructor (table_base.Table) hold what SQLModel's would."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_core import PydanticUndefined
from sqlmodel import SQLModel
from sqlmodel._compat import sqlmodel_table_construct  # the reference: SQLModel's own construction

import mailgate.schema  # noqa: F401  (every table mapped)
from mailgate.models import Customer, Outbox, Token, utcnow
from mailgate.table_base import Table

TABLES = sorted(
    (m.class_ for m in SQLModel._sa_registry.mappers if issubclass(m.class_, Table)),
    key=lambda cls: cls.__name__,
)


def _sample(cls: type[Table]) -> dict[str, Any]:
    """A value for every required field, and for none of the others."""
    samples = {int: 7, str: "x", bool: True, bytes: b"x"}
    values: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        if field.is_required():
            kind = field.annotation
            values[name] = utcnow() if "datetime" in str(kind) else samples.get(kind, "x")  # type: ignore[arg-type]
    return values


def _theirs(cls: type[Table], values: dict[str, Any]) -> Table:
    row = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    sqlmodel_table_construct(self_instance=row, values=dict(values))
    return row


def _fields(row: Table, *, skip: set[str]) -> dict[str, Any]:
    return {
        name: row.__dict__.get(name, PydanticUndefined) for name in type(row).model_fields if name not in skip
    }


def test_there_are_tables_to_compare() -> None:
    assert {Customer, Outbox, Token} <= set(TABLES)
    assert len(TABLES) > 20


@pytest.mark.parametrize("cls", TABLES, ids=lambda cls: cls.__name__)
def test_every_table_builds_the_row_sqlmodel_builds(cls: type[Table]) -> None:
    values = _sample(cls)
    made = {n for n, f in cls.model_fields.items() if f.default_factory is not None and n not in values}
    ours, theirs = cls(**values), _theirs(cls, values)
    assert _fields(ours, skip=made) == _fields(theirs, skip=made)
    assert ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__ == set(values)
    for name in made:  # made per row (a creation time): both have one, of the same type
        assert type(ours.__dict__[name]) is type(theirs.__dict__[name])


def test_given_values_win_over_defaults() -> None:
    when = utcnow()
    row = Customer(email="a@example.jp", status="active", created_at=when)
    assert (row.email, row.status, row.created_at, row.name, row.id) == (
        "a@example.jp",
        "active",
        when,
        "",
        None,
    )


def test_a_default_made_per_row_is_made_for_each_row() -> None:
    first, second = Token(purpose="register", customer_id=1), Token(purpose="register", customer_id=1)
    assert first.created_at is not second.created_at


def test_a_name_that_is_no_field_is_an_error_not_dropped() -> None:
    with pytest.raises(TypeError, match="no field emial"):
        Customer(emial="a@example.jp")


def test_a_row_changed_after_it_was_built_keeps_the_change() -> None:
    row = Customer(email="a@example.jp")
    row.name = "鈴木"
    assert row.name == "鈴木" and row.model_dump()["name"] == "鈴木"


@pytest.mark.parametrize("cls", TABLES, ids=lambda cls: cls.__name__)
def test_setting_every_column_leaves_what_sqlmodels_own_assignment_leaves(cls: type[Table]) -> None:
    """Each column set on a row that SQLAlchemy tracks as persistent: the same value, the same
    change remembered for the UPDATE, the same fields marked set, as SQLModel's `__setattr__`."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import make_transient_to_detached

    columns = [p.key for p in inspect(cls).column_attrs if p.key in cls.model_fields]
    read = {**cls(**_sample(cls)).__dict__, **{k.key: 1 for k in inspect(cls).primary_key}}
    ours, theirs = cls(**_sample(cls)), cls(**_sample(cls))
    for row in (ours, theirs):
        row.__dict__.update({name: read.get(name) for name in columns})
        make_transient_to_detached(row)  # as if read: changes are tracked from here
    later = cls(**_sample(cls)).__dict__  # other values: new timestamps
    for n, name in enumerate(columns):
        if name == "id":
            continue
        value = later.get(name) if n % 2 else None
        SQLModel.__setattr__(theirs, name, value)
        ours.__setattr__(name, value)
    assert _fields(ours, skip=set()) == _fields(theirs, skip=set())
    assert ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__
    assert dict(inspect(ours).committed_state) == dict(inspect(theirs).committed_state)
    assert inspect(ours).modified == inspect(theirs).modified


def test_a_name_that_is_no_column_is_still_set_as_pydantic_sets_it() -> None:
    row = Customer(email="a@example.jp")
    with pytest.raises(ValueError, match="no field"):
        row.not_a_field = 1  # type: ignore[attr-defined]
