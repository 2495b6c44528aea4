from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

# Six threads allocating at once, in a fresh interpreter; glibc's malloc_stats() then writes one
# "Arena N:" block per arena to stderr.
THREADS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from mailgate import malloc_arenas

    print(malloc_arenas.limit() if sys.argv[1] == "limit" else None, flush=True)
    started, done = threading.Barrier(7), threading.Barrier(7)

    def allocate():
        started.wait()
        kept = [bytearray(4000) for _ in range(100)]  # malloc'd, under the mmap threshold
        done.wait()
        del kept

    threads = [threading.Thread(target=allocate) for _ in range(6)]
    for t in threads:
        t.start()
    started.wait()
    done.wait()
    ctypes.CDLL(None).malloc_stats()
    for t in threads:
        t.join()
    """
)


def arenas(mode: str) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run(
        [sys.executable, "-c", THREADS, mode], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    return out.stdout.strip(), out.stderr.count("Arena ")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_threads_allocating_at_once_share_two_arenas_once_limited() -> None:
    assert arenas("limit") == ("True", 2)
    said, unlimited = arenas("as is")
    assert said == "None" and unlimited > 2  # glibc's own way: an arena per thread, here up to 7


def test_an_operators_malloc_arena_max_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailgate import malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc_arenas.limit() is False
