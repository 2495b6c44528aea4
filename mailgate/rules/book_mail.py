"""Mail to the booking address, as one of four intents by what the customer wrote: 待つ or キャンセル待ち
(wait_request: the waitlist of the time a list said was taken), キャンセル (cancel_request), a number
(book_reply: the answer to a list), anything else (book_request: a day, a menu, or nothing). What ties
a reply to its list is kept for the ledger to check: the tag of book+KEY@ and the Message-IDs the mail
answers."""

from __future__ import annotations

from mailgate.config import Config
from mailgate.mail.parse import ParsedMail
from mailgate.rules.intent import Intent
from mailgate.rules.ja.requests import own_words, reply_number, wants_cancel, wants_wait

MAX_IDS = 10
MAX_ID_CHARS = 200  # a Message-ID we wrote is shorter; longer ones are not ours


def intent(rule_id: str, mail: ParsedMail, rcpt: str, cfg: Config) -> Intent:
    words = own_words(mail.text, mail.subject, f"【{cfg.shop.name}】")
    replying_to: list[str] = []
    for mid in (mail.in_reply_to, *reversed(mail.references)):
        if mid and len(mid) <= MAX_ID_CHARS and mid not in replying_to:
            replying_to.append(mid)
    fields = {
        "first": words.first,
        "words": words.text,
        "tag": _tag(rcpt),
        "replying_to": replying_to[:MAX_IDS],
    }
    customer = {"email": mail.from_addr}
    said = f"{words.text!r}" if words.text else "nothing"
    if wants_wait(words):
        return Intent("wait_request", f"asks to wait ({said})", rule_id, customer=customer, fields=fields)
    if wants_cancel(words):
        return Intent("cancel_request", f"asks to cancel ({said})", rule_id, customer=customer, fields=fields)
    number = reply_number(words)
    if number is not None:
        fields["number"] = number
        fields["answers"] = list(words.lines[1:])  # to the menu's questions, one a line
        return Intent("book_reply", f"chooses {number} ({said})", rule_id, customer=customer, fields=fields)
    return Intent("book_request", f"asks for free times ({said})", rule_id, customer=customer, fields=fields)


def _tag(rcpt: str) -> str:
    """KEY of book+KEY@ as written; the ledger checks it (ledger/reply_keys.py)."""
    return rcpt.rpartition("@")[0].partition("+")[2][:32]
