"""The GET stream of the Streamable HTTP transport, bound to the URL it was opened on.

The spec lets a client open `GET` on the endpoint for server-initiated messages; the server answers with an
SSE stream or 405. The SDK's stateless mode answers with a stream nobody ever writes to and nobody closes.
Toolpress answers 200 `text/event-stream` (clients such as VS Code expect a stream, not a bare 405), sends a
comment at once and a keep-alive comment every 15 s so proxies keep it open, and closes it within about a
second once the URL stops serving (regenerated, disabled, app deleted). One watcher per process checks the
URLs that have open streams once a second: one query per distinct URL, not per stream.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import anyio
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.core import shutdown

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
CHECK_SECONDS = 1.0

NOT_ACCEPTABLE = JSONResponse(
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Not Acceptable: GET needs Accept: text/event-stream"}},
    status_code=406,
)


class StreamWatcher:
    """Open GET streams per URL secret, closed when `still_serves(secret)` turns false."""

    def __init__(self, still_serves: Callable[[str], bool], security: TransportSecurityMiddleware) -> None:
        self._still_serves = still_serves
        self._security = security
        self._open: dict[str, set[anyio.Event]] = {}

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the watcher loop for the lifetime of the app."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._loop)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def _loop(self) -> None:
        while True:
            await anyio.sleep(CHECK_SECONDS)
            if shutdown.draining():  # the process is stopping: clients reopen their streams elsewhere
                for streams in self._open.values():
                    for closed in streams:
                        closed.set()
                continue
            for secret in list(self._open):
                try:
                    alive = await anyio.to_thread.run_sync(self._still_serves, secret)
                except Exception:  # a database hiccup keeps streams open; the next tick checks again
                    logger.warning("could not check an MCP URL with open streams")
                    continue
                if not alive:
                    for closed in self._open.pop(secret, set()):
                        closed.set()

    @contextlib.asynccontextmanager
    async def watch(self, secret: str) -> AsyncIterator[anyio.Event]:
        """An event set once `secret` stops serving, for as long as the caller holds a stream open on it."""
        closed = anyio.Event()
        self._open.setdefault(secret, set()).add(closed)
        try:
            yield closed
        finally:
            streams = self._open.get(secret)
            if streams is not None:
                streams.discard(closed)
                if not streams:
                    self._open.pop(secret, None)

    async def serve(self, scope: Scope, receive: Receive, send: Send, *, secret: str) -> None:
        """Answer a GET: validate, then hold an SSE stream open until the client leaves or the URL dies."""
        request = Request(scope, receive)
        error = await self._security.validate_request(request, is_post=False)
        if error is not None:
            await error(scope, receive, send)
            return
        if not check_accept_headers(request)[1]:
            await NOT_ACCEPTABLE(scope, receive, send)
            return
        async with self.watch(secret) as closed:
            await self._stream(send, receive, closed)

    async def _stream(self, send: Send, receive: Receive, closed: anyio.Event) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream"),
                        (b"cache-control", b"no-cache, no-transform"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b": stream open\n\n", "more_body": True})
            client_left = False
            async with anyio.create_task_group() as tg:

                async def wait_for_disconnect() -> None:
                    nonlocal client_left
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    client_left = True
                    tg.cancel_scope.cancel()

                async def keep_alive() -> None:
                    while True:
                        with anyio.move_on_after(KEEPALIVE_SECONDS):
                            await closed.wait()
                            tg.cancel_scope.cancel()
                            return
                        await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})

                tg.start_soon(wait_for_disconnect)
                tg.start_soon(keep_alive)
            if not client_left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while we wrote
