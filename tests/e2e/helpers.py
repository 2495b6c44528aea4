"""Reading what a real `mailgate serve` wrote: Maildir files, forms in pages, CLI output."""

from __future__ import annotations

import email
import json
import re
from email.message import EmailMessage, Message
from email.policy import compat32, default
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mailgate.mail.headers import decode_header_value


def outbox_files(outbox: Path) -> list[Path]:
    new = outbox / "new"
    return sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns) if new.is_dir() else []


def mails_to(outbox: Path, to: str) -> list[EmailMessage]:
    """The mails in the outbox Maildir to `to`, oldest first (modern email API)."""
    found = []
    for path in outbox_files(outbox):
        mail = email.message_from_bytes(path.read_bytes(), policy=default)
        if to in str(mail["To"]):
            found.append(mail)
    return found  # type: ignore[return-value]


def text_of(mail: EmailMessage) -> str:
    """The text of a mail (its first part when it has an .ics beside it), with LF line ends."""
    part = next(mail.iter_parts()) if mail.is_multipart() else mail
    return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


def read_mail(path: Path) -> tuple[Message, str, str]:
    """(message, decoded subject, decoded body text)."""
    return parse_mail(path.read_bytes())


def parse_mail(raw: bytes) -> tuple[Message, str, str]:
    """(message, decoded subject, decoded body text) of a single-part mail as mailgate writes it."""
    msg = email.message_from_bytes(raw, policy=compat32)
    payload = msg.get_payload(decode=True)
    assert isinstance(payload, bytes)
    charset = msg.get_content_charset() or "utf-8"
    return msg, decode_header_value(msg["Subject"]), payload.decode(charset)


def first_url(text: str) -> str:
    m = re.search(r"https?://\S+", text)
    assert m, f"no URL in:\n{text}"
    return m.group(0)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
        elif (
            tag == "input"
            and self.forms
            and a.get("name")
            and (a.get("type") in ("hidden", "submit") or "value" in a)
        ):
            self.forms[-1]["fields"].setdefault(a["name"], a.get("value", ""))


def forms(html: str) -> list[dict[str, Any]]:
    p = _Forms()
    p.feed(html)
    return p.forms


def cli(config: Path, *args: str) -> Any:
    """`mailgate --config CONFIG ARGS --json`, in-process (Typer's runner): what it printed, parsed."""
    from typer.testing import CliRunner

    from mailgate.cli import app

    done = CliRunner().invoke(app, ["--config", str(config), *args, "--json"])
    assert done.exit_code == 0, (done.stderr, done.exception)
    return json.loads(done.stdout)
