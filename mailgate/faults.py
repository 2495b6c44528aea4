"""Whose fault: an error of our own (a full disk, the database gone) is retried later and never
counts against the message; anything else is the message's problem and an operator must look."""

from __future__ import annotations

import errno

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

_OUR_OWN_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EROFS,
    errno.EAGAIN,
    errno.ENOMEM,
    errno.EMFILE,
    errno.ENFILE,
}


def is_our_own(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | MemoryError):
        return True
    return isinstance(exc, OSError) and exc.errno in _OUR_OWN_ERRNOS


def is_out_of_space(exc: BaseException) -> bool:
    """A full disk or quota, as the file system, SQLite (SQLITE_FULL) or PostgreSQL (53100) says it."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "database or disk is full" in text or "No space left on device" in text
