"""Waiting in a test for what another thread does: bounded, and no time is asserted."""

from __future__ import annotations

import threading
from collections.abc import Callable


def until(predicate: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Returns once predicate() is true; fails the test (naming `what`) after `seconds`."""
    pause = threading.Event()
    for _ in range(int(seconds * 20)):
        if predicate():
            return
        pause.wait(0.05)
    raise AssertionError(f"never: {what}")
