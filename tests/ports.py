"""Free loopback ports for the servers tests start.

Picked below the kernel's ephemeral range: a port the kernel hands out for `bind(0)` is also one it
hands to the next outgoing client socket, and parallel tests open thousands of those, so one could
take the port between this probe and the server's own bind."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 10_000


def free_port() -> int:
    first_ephemeral = int(_RANGE.read_text().split()[0]) if _RANGE.exists() else 32_768
    for _ in range(100):
        port = random.randrange(LOWEST, max(first_ephemeral, LOWEST + 1_000))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # that range is full: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
