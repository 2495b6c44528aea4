"""Jinja2 environments for mail (plain text) and web pages (autoescaped HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2


def mail_env(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir / "mail"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def web_env(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir / "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_mail(env: jinja2.Environment, name: str, **context: Any) -> tuple[str, str]:
    """(subject, body): a mail template's first line is `Subject: ...`, then a blank line, then the body."""
    text = env.get_template(f"{name}.txt.j2").render(**context)
    head, _, body = text.partition("\n\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"mail template {name} must start with a Subject: line")
    return head.removeprefix("Subject:").strip(), body
