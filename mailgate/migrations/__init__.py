"""Alembic migrations, run by mailgate.schema (there is no alembic.ini). Add one with
scripts/new_revision.py; README "Changing the schema" says how."""
