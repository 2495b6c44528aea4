"""Names for the constraints of SQLite databases made before migrations.

SQLite kept no names for their unnamed constraints (sqlite_autoindex_*), where 0001 names them as
PostgreSQL did. Stamped with 0001, such a database gets its tables recreated with those names here,
so that it ends the same as one the migrations built. Nothing to do on PostgreSQL (it named them
then) or on a database 0001 built.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

# mailgate.models' naming convention as it was at this revision.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
    "ck": "%(table_name)s_%(constraint_name)s_check",
}
TABLES = ["customer", "imapstate", "message", "booking", "outbox", "token", "conflict", "event", "inquiry"]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    inspector = sa.inspect(bind)
    for table in TABLES:
        constraints = [
            inspector.get_pk_constraint(table),
            *inspector.get_unique_constraints(table),
            *inspector.get_foreign_keys(table),
        ]
        if any(c["name"] is None for c in constraints):
            # Copies the rows into a new table with named constraints, then renames it (the
            # migration runs with foreign keys off and checks them before it commits).
            with op.batch_alter_table(table, recreate="always", naming_convention=NAMING):
                pass
