"""Connection counts per listener and client, event rates per client and minute, and the accept
error asyncio repeats for every waiting connection, logged once a minute."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from mailgate.limits import AcceptErrors, Gate, Rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_gate_refuses_a_client_over_its_share_and_everyone_over_the_total() -> None:
    gate = Gate(total=3, per_client=2, exempt=["10.0.0.1"])
    assert gate.admit("192.0.2.1") is None and gate.admit("192.0.2.1") is None
    assert gate.admit("192.0.2.1") == "too many connections from 192.0.2.1 (2)"
    assert gate.admit("10.0.0.1") is None  # a front MTA counts towards the total only
    assert gate.admit("192.0.2.2") == "too many connections (3)"
    gate.release("192.0.2.1")
    assert gate.admit("192.0.2.2") is None
    assert (gate.count, gate.held) == (3, {"192.0.2.1": 1, "10.0.0.1": 1, "192.0.2.2": 1})


def test_a_connection_moved_to_the_client_a_front_mta_names_counts_as_that_clients() -> None:
    gate = Gate(total=10, per_client=1, exempt=["10.0.0.1"])
    assert gate.admit("10.0.0.1") is None and gate.admit("10.0.0.1") is None
    assert gate.move("10.0.0.1", "192.0.2.7") is None
    assert gate.move("10.0.0.1", "192.0.2.7") == "too many connections from 192.0.2.7 (1)"
    assert (gate.count, gate.held) == (2, {"10.0.0.1": 1, "192.0.2.7": 1})


def test_a_rate_allows_so_many_per_client_in_any_sixty_seconds() -> None:
    clock = Clock()
    rate = Rate(2, clock=clock)
    assert [rate.allow("a"), rate.allow("a"), rate.allow("a"), rate.allow("b")] == [True, True, False, True]
    clock.now += 59
    assert not rate.allow("a")
    clock.now += 1.5
    assert rate.allow("a") and rate.allow("a") and not rate.allow("a")


def test_out_of_descriptors_on_accept_is_logged_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    logger = logging.getLogger("mailgate.limits")
    monkeypatch.setattr(logger, "disabled", False)  # whatever configured logging before this test
    monkeypatch.setattr(logger, "error", lambda msg, *args: said.append(msg % args))
    clock, loop = Clock(), asyncio.new_event_loop()
    handler = AcceptErrors(clock=clock)
    context = {"message": AcceptErrors.MESSAGE, "exception": OSError(errno.EMFILE, "Too many open files")}
    try:
        for _ in range(2048):  # one second of a full backlog
            handler(loop, context)
        clock.now += 61
        handler(loop, context)
    finally:
        loop.close()
    assert len(said) == 2
    assert said[1].startswith("cannot accept connections: [Errno 24] Too many open files (2047 more")
