"""The base of mailgate's tables: SQLModel's, with a constructor that costs a sixth as much.

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
