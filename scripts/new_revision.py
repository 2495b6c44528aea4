"""Start the next migration: autogenerate it from the models against a database the existing
migrations built, into mailgate/migrations/versions/NNNN_<message>.py. Then edit it (README,
"Changing the schema"):

    .venv/bin/python scripts/new_revision.py "message: priority"
"""

from __future__ import annotations

import sys
import tempfile

from alembic import command

from mailgate import db, schema


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{tmp}/mailgate.db")
        if schema.revisions():
            schema.upgrade(engine)
        rev_id = f"{len(schema.revisions()) + 1:04d}"
        with engine.begin() as conn:
            script = command.revision(
                schema.alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id
            )
        engine.dispose()
    assert script is not None and not isinstance(script, list)
    print(f"wrote {script.path}\nedit it, then run: .venv/bin/python -m pytest -q tests/db")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
