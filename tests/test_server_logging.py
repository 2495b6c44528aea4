"""serve's log lines are written by a thread of their own, never by the event loop's thread: a
write that blocks (a full pipe, a disk held up by writeback) must not stop SMTP and the pages."""

from __future__ import annotations

import logging
import threading

from mailgate import server


class _Where(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((threading.current_thread().name, record.getMessage()))


def test_log_lines_are_written_by_another_thread_than_the_one_logging() -> None:
    root = logging.getLogger()
    where = _Where()
    root.addHandler(where)
    try:
        with server._logging_from_a_thread():
            assert where not in root.handlers  # behind the queue now
            log = logging.getLogger("test_server_logging")  # a level other tests' CLI runs do not set
            log.setLevel(logging.INFO)
            log.warning("stored as %s", 7)
        assert where in root.handlers  # given back when serve ends
    finally:
        root.removeHandler(where)
    assert [text for _, text in where.lines] == ["stored as 7"]  # written by the time serve ended
    assert where.lines[0][0] != threading.current_thread().name
