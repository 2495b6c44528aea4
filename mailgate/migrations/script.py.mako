"""${message}

Revision ${up_revision}, after ${down_revision | comma,n}. Written by scripts/new_revision.py on
${create_date}, then edited: it must run on SQLite (batch mode) and PostgreSQL, and say here why.
"""

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
