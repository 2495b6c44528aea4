"""${message}

Revision ${up_revision}, after ${down_revision | comma,n} (scripts/new_revision.py, ${create_date}).
TODO, then delete this line: say why; check it runs on SQLite (batch mode) and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
