"""What every reader shares: value lines in NFKC without the blank ones, and FieldError quoting them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence


class FieldError(ValueError):
    """A field of a notice that can't be read; str(e) says what in English, quoting the input."""


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def quote(lines: Sequence[str] | str) -> str:
    text = lines if isinstance(lines, str) else " ".join(line.strip() for line in lines)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def nonempty(lines: Sequence[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


SPACES = re.compile(r"[\s\u3000]+")
