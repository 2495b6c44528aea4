"""Requests in progress per client as the pages see it (behind a trusted proxy: the client
X-Forwarded-For names), and X-Forwarded-For believed from the configured proxies only."""

from __future__ import annotations

import asyncio
from typing import Any

from mailgate.web.connections import PerClientRequests, uvicorn_options


def test_a_client_with_too_many_requests_in_progress_is_answered_503_and_others_are_served() -> None:
    release = asyncio.Event()

    async def slow_page(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = PerClientRequests(slow_page, per_client=2)

    async def get(client: str) -> int:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "client": (client, 1234)}, None, send)
        return int(sent[0]["status"])

    async def run() -> list[int]:
        waiting = [asyncio.create_task(get("192.0.2.1")) for _ in range(2)]
        await asyncio.sleep(0)
        over = await get("192.0.2.1")
        other = asyncio.create_task(get("192.0.2.2"))
        await asyncio.sleep(0)
        release.set()
        return [*(await asyncio.gather(*waiting)), over, await other]

    assert asyncio.run(run()) == [200, 200, 503, 200]
    assert app.busy == {}


def test_x_forwarded_for_is_believed_from_configured_proxies_only() -> None:
    assert uvicorn_options([]) == {"proxy_headers": False}
    assert uvicorn_options(["127.0.0.1"]) == {"proxy_headers": True, "forwarded_allow_ips": ["127.0.0.1"]}
