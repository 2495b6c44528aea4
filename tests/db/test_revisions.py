"""The revision files are one numbered line: 0001, 0002, ... each after the one before, its file
named by its number (two branches that each added a 0003 fail here, not on a shop's database)."""

from __future__ import annotations

from mailgate import schema


def test_the_revisions_are_one_numbered_line() -> None:
    files = sorted(p.name for p in (schema.MIGRATIONS / "versions").glob("[0-9]*.py"))
    revisions = list(reversed(list(schema.alembic_script().walk_revisions())))

    numbers = [f"{n:04d}" for n in range(1, len(files) + 1)]
    assert [name[:5] for name in files] == [f"{n}_" for n in numbers]
    assert [r.revision for r in revisions] == numbers
    assert [r.down_revision for r in revisions] == [None, *numbers[:-1]]
    assert schema.revisions() == tuple(numbers)
    assert schema.alembic_script().get_heads() == [schema.head()] == [numbers[-1]]
