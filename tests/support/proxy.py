"""A plain round-robin HTTP balancer for tests: each request goes to the next upstream, no stickiness."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from support.stack import free_port, wait_until

_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"proxy-connection", b"content-length"}


class RoundRobin:
    """ASGI app forwarding request N to upstream N mod len(upstreams), streaming both ways."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self._next = itertools.cycle(range(len(upstreams)))
        self.counts = [0] * len(upstreams)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(120, read=None))
        index = next(self._next)
        self.counts[index] += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = self.upstreams[index] + scope["path"] + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP]
        request = self._client.build_request(scope["method"], target, headers=headers, content=body)
        response = await self._client.send(request, stream=True)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP],
                }
            )
            async with anyio.create_task_group() as tg:

                async def until_client_leaves() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()  # the client went away: drop the upstream connection too

                tg.start_soon(until_client_leaves)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                tg.cancel_scope.cancel()
        finally:
            await response.aclose()


@contextmanager
def round_robin(upstreams: list[str]) -> Iterator[tuple[str, RoundRobin]]:
    """Run a RoundRobin balancer on a free loopback port; yield (its base URL, the balancer)."""
    balancer = RoundRobin(upstreams)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(balancer, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 15, "the round-robin balancer")
    try:
        yield f"http://127.0.0.1:{port}", balancer
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def through(url: str, balancer_url: str) -> str:
    """The same MCP URL, reached through the balancer."""
    return balancer_url + "/mcp/" + url.split("/mcp/", 1)[1]
