"""Child processes of mailgate's own: `python -P -m <module> <fd>` talking over a socket pair.

multiprocessing's spawn and forkserver would run the parent's `__main__` again (`mailgate/__main__.py`
is the CLI), and fork copies a process with threads; a plain interpreter on the same mailgate does
neither. The child exits when its parent closes the socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path


def _same_mailgate() -> dict[str, str]:
    """The child imports the mailgate this process runs (`-P` keeps the working directory, which
    may hold another checkout, off its path)."""
    import mailgate

    root = str(Path(mailgate.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def start(module: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """The child running `module` (its `__main__` takes the socket's descriptor) and our end."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", module, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=_same_mailgate(),
        )
        return process, Connection(ours.detach())


def stop(process: subprocess.Popen[bytes] | None, conn: Connection | None, grace: float = 0) -> None:
    """Close our end (the child's cue to exit), give it `grace` seconds, kill it if it still runs."""
    if conn is not None:
        conn.close()
    if process is None:
        return
    if grace:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    if process.poll() is None:
        process.kill()
    process.wait()
