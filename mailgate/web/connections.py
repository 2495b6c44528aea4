"""HTTP connections to the link pages: counted against [web] limits, and closed when a request has
not arrived in full within [web] request_seconds.

uvicorn times out only idle kept-alive connections: a client that sent one header line and waited
held its connection, and a file descriptor, forever (20,100 of them stopped SMTP and the pages).
In production the pages belong behind a reverse proxy (README), which buffers requests; these
limits keep mailgate standing without one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from mailgate.limits import Gate

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 10\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbusy, retry\n"
)
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
# The client's side of the exchange is still arriving: headers (IDLE once bytes came) or the body.
_ARRIVING = (h11.IDLE, h11.SEND_BODY)


def limited_protocol(gate: Gate, request_seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, counted by `gate` and timed out `request_seconds` after a request began."""

    class Limited(H11Protocol):
        refused: str | None = None
        peer = ""
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.peer = self.client[0] if self.client else ""
            self.refused = gate.admit(self.peer)
            if self.refused is not None:
                # Answer, then wait a moment for the client's end: closing with its request unread
                # would reset the connection and could lose the answer.
                transport.write(_BUSY)
                transport.write_eof()
                self.loop.call_later(1.0, transport.close)
                return
            self._start_clock()  # also for a client that connects and sends nothing

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            if self.refused is None:
                self.refused = "closed"
                gate.release(self.peer)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.refused is not None:
                return
            if self.deadline is None and self.conn.their_state is h11.IDLE:
                self._start_clock()  # the next request on a kept-alive connection
            super().data_received(data)

        def on_response_complete(self) -> None:
            self._stop_clock()
            super().on_response_complete()

        def _start_clock(self) -> None:
            self.deadline = self.loop.call_later(request_seconds, self._too_slow)

        def _stop_clock(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _too_slow(self) -> None:
            self.deadline = None
            if self.conn.their_state in _ARRIVING and not self.transport.is_closing():
                self.transport.write(_TOO_SLOW)
                self.transport.close()

    return Limited


def uvicorn_options(trusted_proxies: list[str]) -> dict[str, Any]:
    """X-Forwarded-For is believed from the configured reverse proxies only (uvicorn's default
    trusts 127.0.0.1)."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted_proxies)}


class PerClientRequests:
    """Requests in progress per client, as the pages see it: behind a trusted proxy that is the
    client X-Forwarded-For names (the proxy's own connections count only towards the total)."""

    def __init__(self, app: Any, per_client: int) -> None:
        self.app, self.per_client = app, per_client
        self.busy: dict[str, int] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("",))[0]
        if self.busy.get(client, 0) >= self.per_client:
            await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", b"10")]})
            await send({"type": "http.response.body", "body": b"busy, retry\n"})
            return
        self.busy[client] = self.busy.get(client, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.busy[client] - 1
            if left:
                self.busy[client] = left
            else:
                del self.busy[client]
