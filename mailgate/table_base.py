"""The base of mailgate's tables: SQLModel's, with a constructor that costs a sixth as much, and a
column's assignment without pydantic's part of it.

SQLModel builds a new row by setting every field through its own `__setattr__` (SQLAlchemy's
attribute event, then pydantic's assignment): 90-120 µs for a customer, about a tenth of the
worker's time in a burst of signups. A row that is not yet in a session needs neither: SQLAlchemy's
instrumented `__init__` has made its state before this runs, and a flush inserts what the
instance's `__dict__` holds. So the fields go straight into `__dict__`, as SQLModel's (unvalidated)
construction would leave them. A name that is not a field is an error here, where SQLModel drops it
without a word.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic.fields import FieldInfo
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import SQLModel

# Defaults of these types are used as they are; any other (a list, a dict) is copied per row, as
# pydantic does.
_IMMUTABLE = (type(None), bool, int, float, str, bytes)


class Table(SQLModel):
    def __init__(self, **data: Any) -> None:
        given = set(data)
        values = self.__dict__  # holds SQLAlchemy's state already
        for name, default, field in _defaults(type(self)):
            if name in data:
                values[name] = data.pop(name)
            elif field is None:
                values[name] = default
            elif not field.is_required():  # a required field left out stays unset, as in SQLModel
                values[name] = field.get_default(call_default_factory=True)
        if data:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(data))}")
        object.__setattr__(self, "__pydantic_fields_set__", given)

    def __setattr__(self, name: str, value: Any) -> None:
        """A column's value set as SQLModel sets it (SQLAlchemy's attribute event, which writes
        `__dict__` and remembers the change; then the field marked set), without its way through
        pydantic's assignment: 14 of these a message in a burst, a twentieth of the worker's time."""
        if name in _columns(type(self)):
            set_attribute(self, name, value)
            self.__pydantic_fields_set__.add(name)
        else:
            super().__setattr__(name, value)


@functools.cache
def _columns(cls: type[SQLModel]) -> frozenset[str]:
    """The fields that are columns SQLAlchemy tracks (not relationships, not plain attributes)."""
    mapper = inspect(cls)
    return frozenset(cls.model_fields) & frozenset(prop.key for prop in mapper.column_attrs)


@functools.cache
def _defaults(cls: type[SQLModel]) -> tuple[tuple[str, Any, FieldInfo | None], ...]:
    """(name, default, None) for a default used as it is; (name, None, field) for one made per row."""
    out: list[tuple[str, Any, FieldInfo | None]] = []
    for name, field in cls.model_fields.items():
        if field.default_factory is None and isinstance(field.default, _IMMUTABLE):
            out.append((name, field.default, None))
        else:
            out.append((name, None, field))
    return tuple(out)
