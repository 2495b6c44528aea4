"""One file per revision, numbered 0001, 0002, ... (alembic skips this file)."""
