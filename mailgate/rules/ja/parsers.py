"""PARSERS: every reader under one signature, the names rules files use in `parse = "..."`.

    PARSERS[name](lines: list[str], ctx: ParseContext) -> value

ParseContext carries the shop's zone and the mail's Date (for dates without a year); readers that need
neither ignore it. The plain functions in the reader modules take what they need and can be called
directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from mailgate.rules.ja.booking import duration, menu, reservation_id, staff
from mailgate.rules.ja.contact import email, kana, name, person, phone
from mailgate.rules.ja.dates import datetime_range
from mailgate.rules.ja.inquiry import text


@dataclass(frozen=True)
class ParseContext:
    tz: tzinfo  # the shop's zone (a ZoneInfo): results are aware datetimes in it
    reference: datetime  # the mail's Date: the year of "12月5日" is inferred from it


Parser = Callable[[list[str], ParseContext], Any]


def _plain(fn: Callable[[list[str]], Any]) -> Parser:
    def call(lines: list[str], ctx: ParseContext) -> Any:
        return fn(lines)

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    return call


def _datetime_range(lines: list[str], ctx: ParseContext) -> tuple[datetime, datetime | None]:
    return datetime_range(lines, ctx.tz, ctx.reference)


# Uniform signature for the rules engine: PARSERS[name](lines, ParseContext(tz, reference)).
PARSERS: dict[str, Parser] = {
    "reservation_id": _plain(reservation_id),
    "datetime_range": _datetime_range,
    "duration": _plain(duration),
    "person": _plain(person),
    "name": _plain(name),
    "kana": _plain(kana),
    "email": _plain(email),
    "phone": _plain(phone),
    "staff": _plain(staff),
    "menu": _plain(menu),
    "text": _plain(text),
}
