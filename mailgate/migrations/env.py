"""What alembic runs for every command. mailgate.schema opens the connection (and its lock and
transaction) and passes it in config.attributes: there is no alembic.ini and no offline mode."""

from typing import Any

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from mailgate.models import UTCDateTime
from mailgate.schema import COMPARE


def render_item(kind: str, obj: Any, _autogen: Any) -> str | bool:
    """Plain SQLAlchemy types in revision files: a revision must not change when the models do."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through mailgate (mailgate db upgrade), not the alembic command")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # ALTER on PostgreSQL, copy-and-move on SQLite, from one revision file
    render_item=render_item,
    **COMPARE,
)
with context.begin_transaction():
    context.run_migrations()
