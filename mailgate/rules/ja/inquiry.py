"""Customers' own messages: the text as written, and whether it asks for a day or time."""

from __future__ import annotations

import re

from mailgate.rules.ja.values import nfkc

_WHEN = re.compile(
    r"[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|[0-9]{1,2}\s*/\s*[0-9]{1,2}|(?<![0-9])[0-9]{1,2}\s*日(?!間)"
    r"|今日|本日|明日|明後日|あした|あさって|今晩|今夜|今週|来週|再来週|週末|土日|連休"
    r"|[月火水木金土日]曜|午前|午後|夕方|朝|昼|夜"
    r"|[0-9]{1,2}\s*時(?!間)|[0-9]{1,2}\s*:\s*[0-9]{2}"
)
_INTENT = re.compile(
    r"予約|空いて|空き|空いた|あいて|行きたい|行け|伺いたい|伺え|伺っても|可能|できますか|出来ますか"
    r"|大丈夫|取れ|とれ|入れ|受けたい|お願いしたい|お願いできますか|希望"
)
# Cancelling or asking about an existing booking is not a new request even with a day in it.
_CANCEL = re.compile(r"キャンセル|取り消|取消|やめ")
# A sentence about parking or getting there ("平日の午後、駐車場は空いていますか") asks about the place,
# not for a slot, unless it says 予約 itself.
_FACILITY = re.compile(r"駐車|駐輪|パーキング|車で|車を|停め|バイク|自転車|アクセス|道順|最寄")
_BOOKING = re.compile(r"予約|施術を受け|受けたい")
_SENTENCES = re.compile(r"(?<=[。！？!?\n])")


def _about_the_booking(text: str) -> str:
    """The text without its sentences about the place (parking, access) that do not ask to book."""
    kept = [s for s in _SENTENCES.split(text) if not _FACILITY.search(s) or _BOOKING.search(s)]
    return "".join(kept)


def inquiry_kind(message: str) -> str:
    """ "booking_request" when the customer asks for a concrete day or time, else "question"."""
    text = nfkc(message)
    if _CANCEL.search(text):
        return "question"
    text = _about_the_booking(text)
    return "booking_request" if _WHEN.search(text) and _INTENT.search(text) else "question"


def text(lines: list[str]) -> str:
    """The lines joined with newlines (inquiry messages)."""
    return "\n".join(lines)
