"""One CSV cell both ways: times in the shop's zone with their offset, and the OWASP neutralizing of
formulas (a cell a spreadsheet would run gets a leading apostrophe, which mailgate's import takes back)."""

from __future__ import annotations

from datetime import datetime, tzinfo

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(value: str) -> bool:
    # Apostrophes already in front count too, so that taking one back is never ambiguous.
    return value.lstrip("'").startswith(FORMULA_START)


def neutral(value: str) -> str:
    """The cell as written: a would-be formula behind an apostrophe."""
    return "'" + value if _needs_quote(value) else value


def restored(value: str) -> str:
    """The cell as it was before `neutral`."""
    return value[1:] if value.startswith("'") and _needs_quote(value) else value


def when(value: datetime | None, zone: tzinfo) -> str:
    """ISO 8601 in the shop's zone with its offset, to the second: 2031-12-01T10:00:00+09:00."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value is not None else ""
