"""A test hook run as `python -m tests.e2e.X mailgate ...` is armed in serve's own process; this arms
it in the interpreters serve starts (childsite/sitecustomize.py loads it there)."""

from __future__ import annotations

import os
from pathlib import Path

SITE = Path(__file__).resolve().parent / "childsite"


def arm_children() -> None:
    """After this process has started: its children find childsite/ first on their path."""
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE), os.environ.get("PYTHONPATH")) if p)
