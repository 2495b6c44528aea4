"""An example under every command's `--help`: the line an operator would type. Kept in one table
so that tests/cli/test_help.py can parse each against its command: an example never names an option
the command no longer has. A command may instead carry its own `epilog="Example: ..."`."""

from __future__ import annotations

from typing import Any

import typer

EXAMPLES: dict[str, list[str]] = {
    "bookings": ["mailgate bookings --date 2026-12-05", "mailgate bookings --all --json"],
    "waitlist": ["mailgate waitlist --date 2026-12-05"],
    "digest": ["mailgate digest --date 2026-12-05 --send"],
    "reconcile": ["mailgate reconcile --received 2026-12-05"],
    "replay": [
        "mailgate replay --state held --dry-run",
        "mailgate replay 1203 1204",
        "mailgate replay --since 2026-12-01 --until 2026-12-03 --rules ./rules-new --dry-run",
    ],
    "ledger": ["mailgate ledger --date 2026-12-05 --staff 佐藤"],
    "book": ['mailgate book --customer 090-1234-5678 --menu 整体60分 --at "2026-12-05 14:00" --notify'],
    "change": ['mailgate change 812 --at "2026-12-05 15:00" --staff anyone --notify'],
    "cancel": ["mailgate cancel 812 --notify"],
    "audit": [
        "mailgate audit --customer 090-1234-5678",
        "mailgate audit --booking 812",
        "mailgate audit --operator 佐藤 --since 2026-12-01",
        "mailgate audit --message 1203 --json",
    ],
    "outbox": ["mailgate outbox --state failed"],
    "poll": ["mailgate poll --once"],
    "purge": ["mailgate purge --dry-run"],
    "serve": ["mailgate serve", "mailgate serve --smtp 127.0.0.1:2525 --http 127.0.0.1:8080"],
    "ingest": ["mailgate ingest saved-notices/ --rcpt notices@seitai.example.jp"],
    "process": ["mailgate process"],
    "qr": ["mailgate qr --out signup.png --subject 登録"],
    "init": ["mailgate init --dir /srv/mailgate --domain seitai.example.jp"],
    "conflicts": ["mailgate conflicts --json"],
    "conflicts resolve": ['mailgate conflicts resolve 7 --note "STORES側をキャンセルして電話済み"'],
    "inquiries": ["mailgate inquiries --status open"],
    "inquiries set": ["mailgate inquiries set 31 --status waiting --assignee 田中 --next 2026-12-06"],
    "db upgrade": ["mailgate db upgrade"],
    "db current": ["mailgate db current"],
    "db check": ["mailgate db check"],
    "messages": ["mailgate messages --state held"],
    "messages show": ["mailgate messages show 1203"],
    "customers": ["mailgate customers --unreachable"],
    "customers erase": ["mailgate customers erase 58"],
    "rules test": ["mailgate rules test notice.eml --json"],
    "rules check": ["mailgate rules check"],
    "shifts": ["mailgate shifts --week 2026-12-07"],
    "shifts set": ["mailgate shifts set 佐藤 2026-12-24 off", "mailgate shifts set 田中 sat 10:00-16:00"],
    "shifts check": ["mailgate shifts check"],
    "shifts import": ["mailgate shifts import shifts.csv"],
    "shifts export": ["mailgate shifts export shifts.csv"],
    "shop import": ["mailgate shop import --dry-run"],
}


def epilog(lines: list[str]) -> str:
    # \b: click keeps the lines as written instead of folding them into one paragraph.
    heading = "Example:" if len(lines) == 1 else "Examples:"
    return "\b\n" + heading + "\n" + "\n".join(f"  {x}" for x in lines)


def attach(app: typer.Typer, path: tuple[str, ...] = ()) -> None:
    """Give each registered command (and group with its own listing) its example, unless it wrote
    one itself."""
    for command in app.registered_commands:
        _give(command, (*path, command.name or _name(command.callback)))
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None and group.name
        if sub.registered_callback is not None:
            _give(sub.info, (*path, group.name))
        attach(sub, (*path, group.name))


def _give(info: Any, path: tuple[str, ...]) -> None:
    key = " ".join(path)
    if key in EXAMPLES and not isinstance(info.epilog, str):
        info.epilog = epilog(EXAMPLES[key])


def _name(callback: Any) -> str:
    return str(callback.__name__).replace("_", "-")
