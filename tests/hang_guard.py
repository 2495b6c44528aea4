"""A hang guard for code that reads hostile text: run it in a forked child under a CPU limit.

Not a stopwatch: the limit is far above what a linear pass over the input costs (milliseconds) and far
below what a quadratic one does (minutes), so a loaded machine changes nothing but the wall time.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
from collections.abc import Callable
from typing import Any

CPU_SECONDS = 5
_WALL_BACKSTOP = 300  # a child that sleeps instead of computing


def finishes(fn: Callable[..., Any], *args: Any, cpu_seconds: int = CPU_SECONDS) -> bool:
    """True when fn(*args) returns or raises within cpu_seconds of CPU."""

    def run() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        with contextlib.suppress(Exception):  # garbage in may be refused: only the time counts here
            fn(*args)
        os._exit(0)

    child = multiprocessing.get_context("fork").Process(target=run)
    child.start()
    child.join(_WALL_BACKSTOP)
    if child.is_alive():
        child.kill()
        child.join()
        return False
    return child.exitcode == 0
