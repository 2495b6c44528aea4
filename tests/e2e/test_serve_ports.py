"""The tests' own way of starting `mailgate serve`: a port another process takes between the probe
for a free port and serve's bind (parallel tests open thousands of client sockets) is tried again,
not a failed test."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import tests.conftest
from tests.conftest import start_serve, write_config

pytestmark = pytest.mark.e2e


def test_a_port_taken_before_serve_binds_it_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        real = tests.conftest.free_port
        probes: list[int] = []

        def first_one_taken() -> int:
            probes.append(port := next(ports, None) or real())
            return port

        monkeypatch.setattr(tests.conftest, "free_port", first_one_taken)
        served = start_serve(write_config(tmp_path))
        try:
            assert len(probes) == 4  # two ports for the try that lost its SMTP port, two for the next
            assert served.smtp_port == probes[2] != probes[0]
        finally:
            assert served.stop() == 0
