"""Few glibc malloc arenas in `serve`, so that memory one thread frees is there for the next.

glibc gives each new thread an arena of its own while there are fewer than eight per core, and what
is freed in an arena is reused by that arena only. serve's threads come and go (a lease keeper per
outbox pass, a pool per worker pass, the loop's `to_thread` workers), and SQLite's caches and
Python's larger objects were spread over a dozen arenas, each keeping its own free space: serve's
RSS rose in steps of about 4 MB while the memory in use stayed flat (the memory soak, README "Proof
under load"). With two arenas it stays flat, at the same speed.
"""

from __future__ import annotations

import ctypes
import os

ARENAS = 2
_M_ARENA_MAX = -8  # <malloc.h>


def limit(arenas: int = ARENAS) -> bool:
    """At most `arenas` arenas from now on; True when glibc took it. Call it before threads start
    (glibc fixes the number once it has made eight). Not where there is no glibc, nor when the
    operator set MALLOC_ARENA_MAX: theirs counts."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this interpreter runs on
    except (OSError, AttributeError):  # not glibc (macOS, musl)
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
