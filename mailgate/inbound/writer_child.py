"""The intake writer's own process (inbound/writer.py is the parent's end): a thread reads each
message as it is sent ahead (headers parsed, bytes hashed), the main thread stores the batches the
parent names, one transaction each, and answers once it has committed."""

from __future__ import annotations

import errno
import queue
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from mailgate import db
from mailgate.faults import is_our_own, is_out_of_space
from mailgate.inbound.store import Parsed, Stored, store_parsed


def _failure(e: Exception) -> tuple[int, str]:
    """What the parent needs of an error: whose fault (as an errno) and its text."""
    if is_out_of_space(e):
        code = errno.ENOSPC
    elif is_our_own(e):
        code = e.errno if isinstance(e, OSError) and e.errno else errno.EIO
    else:
        code = errno.EINVAL  # not a fault faults.py retries quietly: the batch's own problem
    return code, f"{type(e).__name__}: {e}"


Read = dict[int, Parsed | Exception]  # a message sent ahead, read (or what reading it raised)


def _read(conn: Connection, read: Read, batches: queue.SimpleQueue[tuple[int, list[int]] | None]) -> None:
    """What the parent sends: messages read as they come (while the main thread commits a batch,
    whose fsync lets go of the GIL), batches passed on to the main thread. Ends with the input."""
    try:
        while True:
            kind, number, payload = conn.recv()
            if kind == "parse":
                try:
                    read[number] = Parsed.of(payload)
                except Exception as e:  # the batch that holds it fails with it, as it would have
                    read[number] = e
            elif kind == "store":
                batches.put((number, payload))
            else:  # "forget": a batch the parent could not hand over
                for seq in payload:
                    read.pop(seq, None)
    except (EOFError, OSError):  # the parent is gone, or closed its end
        pass
    finally:
        batches.put(None)


def _store(engine: Engine, read: Read, seqs: list[int]) -> list[Stored]:
    taken = [read.pop(seq) for seq in seqs]
    parsed = [p for p in taken if not isinstance(p, Exception)]
    if len(parsed) < len(taken):
        raise next(p for p in taken if isinstance(p, Exception))
    return store_parsed(engine, parsed)


def run(fd: int) -> None:
    conn = Connection(fd)
    # The parent finishes the batch under way and closes the socket at shutdown: that ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        url, _spool_dir = conn.recv()
    except (EOFError, OSError):
        return
    engine = db.make_engine(url)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    try:
        conn.send("ready")
    except OSError:
        return
    read: Read = {}
    batches: queue.SimpleQueue[tuple[int, list[int]] | None] = queue.SimpleQueue()
    threading.Thread(target=_read, args=(conn, read, batches), daemon=True).start()
    while (batch := batches.get()) is not None:
        number, seqs = batch
        commits.clear()
        reply: tuple[str, Any, int]
        try:
            reply = ("ok", _store(engine, read, seqs), len(commits))
        except Exception as e:  # the parent logs it with the clients it failed
            reply = ("error", _failure(e), len(commits))
        try:
            conn.send((number, reply))
        except OSError:
            return


if __name__ == "__main__":
    run(int(sys.argv[1]))
