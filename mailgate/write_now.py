"""Rows written at once, past the ORM's flush, where the worker writes one or more for every message.

`add_now`: a new row inserted at once, with its id: what `session.add(row); session.flush()` does,
for a third of the cost (customers, links, replies, bookings).

A flush works out the whole session's unit of work, sorted, for the one row: 350-400 µs, four
times a message in a burst of signups and notices. Here the row goes in by one INSERT of its own
and joins the session as though just read from it, so later changes to it flush as UPDATEs.

Inside a savepoint the ORM's own way is kept: a savepoint rolled back must take its rows out of
the session (SQLAlchemy does that for the rows it flushed), or the session would hold a row that
no longer exists under an id the next insert is given again. A row inserted here in the
transaction's own level is taken out when the transaction rolls back, as the ORM's would be.

`attach`: rows read past the ORM (an UPDATE ... RETURNING on the session's connection) joined to
the session as if a query had read them.

`save_now`: a row's changes written by one UPDATE and the row let go of: what the autoflush before
the next query would write, without the flush (a recorded message, at the end of its turn).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, bindparam, event, insert, inspect, update
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction, make_transient, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert, ReturningInsert, Update

from mailgate import plain_sql
from mailgate.table_base import Table

# session.info: (the transaction, the rows inserted here in it); an entry of an earlier one is stale
_ADDED = "mailgate_inserted_now"


def add_now(session: OrmSession, row: Table) -> None:
    """Add `row` to the session and insert it now: its id is set when this returns."""
    if session.in_nested_transaction():
        session.add(row)
        session.flush()
        return
    if session.new:  # rows added before it go in first (their ids may be its foreign keys)
        session.flush()
    inserting = _inserting(type(row))
    values = row.__dict__
    # As the ORM's INSERT: a None goes in as it is unless the column has a default of its own.
    params = {
        column: values[name]
        for name, column, defaulted in inserting.columns
        if name in values and (values[name] is not None or not defaulted)
    }
    conn = session.connection()
    if any(values.get(name) is None for name in inserting.computed):
        # A default the ORM computes at the insert: its own statement does that, a plain one not.
        values[inserting.key] = conn.execute(inserting.statement, params).inserted_primary_key[0]  # type: ignore[index]
    elif conn.dialect.name == "sqlite":
        values[inserting.key] = plain_sql.run(conn, inserting.statement, params).lastrowid
    else:
        values[inserting.key] = plain_sql.run(conn, inserting.returning, params).scalar_one()
    attach(session, [row])
    root = session.get_transaction()
    kept = session.info.get(_ADDED)
    if kept is None or kept[0] is not root:
        kept = session.info[_ADDED] = (root, [])
    kept[1].append(row)


@dataclass(frozen=True)
class _Inserting:
    statement: Insert
    returning: ReturningInsert[tuple[int]]  # the same, giving the new id (PostgreSQL)
    # Per column its attribute, its name, and whether a None leaves it to a default (the primary
    # key's: the database's next id).
    columns: tuple[tuple[str, str, bool], ...]
    computed: tuple[str, ...]  # the attributes whose column has a default of its own
    key: str  # the attribute of the one primary key column


@functools.cache
def _inserting(cls: type[Table]) -> _Inserting:
    mapper = inspect(cls)
    primary, key = _primary(cls)
    columns = tuple(
        (prop.key, c.key, c is primary or c.default is not None or c.server_default is not None)
        for prop in mapper.column_attrs
        for c in prop.columns[:1]
    )
    computed = tuple(name for name, column, defaulted in columns if defaulted and name != key)
    table = mapper.local_table
    return _Inserting(insert(table), insert(table).returning(primary), columns, computed, key)


def attach(session: OrmSession, rows: Iterable[Table]) -> None:
    """Rows built from what a statement returned, in the session as if read: their later changes
    are written as UPDATEs. Through the session the ORM would build such a statement anew each
    time it ran (its cache key alone: 230 µs)."""
    for row in rows:
        make_transient_to_detached(row)
        session.add(row)


def columns(session: OrmSession, statement: Executable, params: dict[str, Any]) -> Result[Any]:
    """A statement that returns columns, not rows of a model (a query; an UPDATE ... RETURNING), run
    on the session's connection past the ORM's handling of a statement (100 µs a query; an ORM
    UPDATE ... RETURNING is built anew at every run). What is pending is flushed first, as the ORM's
    autoflush would."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def table_columns(cls: type[Table]) -> tuple[Column[Any], ...]:
    """The table's columns in the order `read` takes them: a query selects these first."""
    return _reading(cls)[0]


def read(
    session: OrmSession, cls: type[Table], statement: Executable, params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of a query run by `columns` that selects `table_columns(cls)` and then other columns:
    each as (the row as the session has it, *the others). A row the session holds already is that
    object, as the ORM's query would give it (the query ran after the flush: its values are the
    session's); another is built and joined to the session as if read. 100-150 µs less a query
    than the ORM's own, which the worker runs for every notice and signup."""
    selected, names, key = _reading(cls)
    width = len(selected)
    out: list[tuple[Any, ...]] = []
    for values in columns(session, statement, params):
        fields = dict(zip(names, values[:width], strict=True))
        held = session.identity_map.get(identity_key(cls, (fields[key],)))
        if held is None:
            held = cls(**fields)
            attach(session, [held])
        out.append((held, *values[width:]))
    return out


@functools.cache
def _reading(cls: type[Table]) -> tuple[tuple[Column[Any], ...], tuple[str, ...], str]:
    mapper = inspect(cls)
    props = list(mapper.column_attrs)
    return tuple(prop.columns[0] for prop in props), tuple(prop.key for prop in props), _primary(cls)[1]


def save_now(session: OrmSession, row: Table) -> None:
    """Write what changed in `row` now, and take it out of the session: later changes to it are not
    written. In a savepoint the session keeps it, to write it (or not) with the savepoint."""
    state = inspect(row)
    if session.in_nested_transaction() or not state.persistent:
        return
    changed = sorted(state.committed_state)  # the attributes set since it was read or written
    if changed:
        statement, key = _updating(type(row), tuple(changed))
        values = row.__dict__
        params = {f"new_{name}": values[name] for name in changed}
        plain_sql.run(session.connection(), statement, {**params, "row_id": values[key]})
    session.expunge(row)


@functools.cache
def _updating(cls: type[Table], names: tuple[str, ...]) -> tuple[Update, str]:
    """UPDATE of these attributes' columns, by the primary key; the key's attribute."""
    mapper = inspect(cls)
    primary, key = _primary(cls)
    columns = {mapper.attrs[name].columns[0].key: bindparam(f"new_{name}") for name in names}
    return update(mapper.local_table).where(primary == bindparam("row_id")).values(columns), key


@functools.cache
def _primary(cls: type[Table]) -> tuple[Column[Any], str]:
    """The table's one primary key column and its attribute."""
    mapper = inspect(cls)
    (primary,) = mapper.primary_key
    return primary, next(prop.key for prop in mapper.column_attrs if prop.columns[0] is primary)


def _rolled_back(session: OrmSession, previous: SessionTransaction) -> None:
    if previous.parent is not None:  # a savepoint: rows inserted here are never in one
        return
    root, rows = session.info.pop(_ADDED, (None, []))
    if root is not previous:  # rows of a transaction that ended before (committed)
        return
    for row in rows:
        if row in session:
            session.expunge(row)
        make_transient(row)  # as the ORM leaves a row it had inserted: transient, its values kept


event.listen(OrmSession, "after_soft_rollback", _rolled_back)
