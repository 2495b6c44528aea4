"""Searching a shop for a person: every value of every table (JSON and raw mail decoded) and every
file under var/ and the SQLite database, as bytes in the encodings mail uses and as decoded mail."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import sqlalchemy as sa

from mailgate.context import Context

ENCODINGS = ("utf-8", "cp932", "iso-2022-jp", "euc-jp")


def _mail_text(raw: bytes) -> str:
    """Headers and every text part, decoded (base64, quoted-printable, charsets)."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [str(v) for _, v in msg.items()]
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                parts.append(str(part.get_content()))
    except Exception:  # not a mail: the raw search below still looks at it
        return ""
    return "\n".join(parts)


def _in_bytes(raw: bytes, values: list[str]) -> set[str]:
    found = set()
    decoded = _mail_text(raw)
    for value in values:
        if value in decoded:
            found.add(value)
        for encoding in ENCODINGS:
            try:
                if value.encode(encoding) in raw:
                    found.add(value)
            except UnicodeEncodeError:
                continue
    return found


def _in_value(value: object, values: list[str]) -> set[str]:
    if isinstance(value, bytes | memoryview):
        return _in_bytes(bytes(value), values)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return {v for v in values if v in text}


def where_found(
    ctx: Context, values: list[str], extra_files: list[Path] | None = None
) -> dict[str, set[str]]:
    """{place: the values found there}: tables by name, files by path; {} when nothing is found."""
    hits: dict[str, set[str]] = {}
    tables = sa.MetaData()
    tables.reflect(ctx.engine)
    with ctx.engine.connect() as conn:
        for table in tables.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in row._mapping.items():
                    if value is not None and (found := _in_value(value, values)):
                        hits.setdefault(f"{table.name}.{column}", set()).update(found)
    files = [p for p in ctx.cfg.var_dir.rglob("*") if p.is_file()]
    for path in [*files, *(extra_files or [])]:
        if found := _in_bytes(path.read_bytes(), values):
            hits.setdefault(str(path), set()).update(found)
    return hits
