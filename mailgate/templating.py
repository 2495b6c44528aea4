"""Jinja2 environments for mail (plain text) and web pages (autoescaped HTML)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import jinja2

from mailgate.config.loading import ConfigError, shipped_dir


def mail_env(templates_dir: Path) -> jinja2.Environment:
    """A shop's copy of the templates first; a mail template it lacks (one added by a later mailgate)
    comes from the installed ones, so an upgrade never stops a mail."""
    loaders = [jinja2.FileSystemLoader(templates_dir / "mail")]
    with contextlib.suppress(ConfigError):  # installed zipped: the shop's copy is all there is
        loaders.append(jinja2.FileSystemLoader(shipped_dir("templates") / "mail"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
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
