"""The GET stream of the Streamable HTTP transport, bound to the URL it was opened on.

The spec lets a client open `GET` on the endpoint for server-initiated messages; the server answers with an
SSE stream or 405. The SDK's stateless mode answers with a stream nobody ever writes to and nobody closes.
Toolpress answers 200 `text/event-stream` (clients such as VS Code expect a stream, not a bare 405), sends a
comment at once and a keep-alive comment every 15 s so proxies keep it open, and closes it within about a
second once the URL stops serving (regenerated, disabled, app deleted). One watcher per process checks the
URLs that have open streams once a second: one query per distinct URL, not per stream. The check returns a
fingerprint of the tool the URL serves; when it changes (the app was republished with another name,
description, schema or annotations), every open stream on that URL gets `notifications/tools/list_changed`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY, ToolsListChanged, event_to_notification
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.core import shutdown

logger = logging.getLogger(__name__)


# The start of a server-sent events response (no caching, no proxy buffering).
SSE_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"text/event-stream"),
        (b"cache-control", b"no-cache, no-transform"),
        (b"x-accel-buffering", b"no"),
    ],
}

KEEPALIVE_SECONDS = 15.0
CHECK_SECONDS = 1.0

NOT_ACCEPTABLE = JSONResponse(
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Not Acceptable: GET needs Accept: text/event-stream"}},
    status_code=406,
)


LIST_CHANGED = b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n'


@dataclass(eq=False)
class Watch:
    """One open stream's view of its URL: closed for good, or the tool list changed (`changes` since last sent)."""

    closed: anyio.Event = field(default_factory=anyio.Event)
    changes: int = 0
    wake: anyio.Event = field(default_factory=anyio.Event)

    def close(self) -> None:
        self.closed.set()
        self.wake.set()

    def tool_changed(self) -> None:
        self.changes += 1
        self.wake.set()


class StreamWatcher:
    """Open streams per URL secret: closed when `fingerprint(secret)` turns None, told when it changes."""

    def __init__(self, fingerprint: Callable[[str], str | None], security: TransportSecurityMiddleware) -> None:
        self._fingerprint = fingerprint
        self._security = security
        self._open: dict[str, set[Watch]] = {}
        self._seen: dict[str, str] = {}

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
                    for watch in streams:
                        watch.close()
                continue
            for secret in list(self._open):
                try:
                    current = await anyio.to_thread.run_sync(self._fingerprint, secret)
                except Exception:  # a database hiccup keeps streams open; the next tick checks again
                    logger.warning("could not check an MCP URL with open streams")
                    continue
                if current is None:
                    self._seen.pop(secret, None)
                    for watch in self._open.pop(secret, set()):
                        watch.close()
                    continue
                before = self._seen.get(secret)
                self._seen[secret] = current
                if before is not None and before != current:
                    for watch in self._open.get(secret, set()):
                        watch.tool_changed()

    @contextlib.asynccontextmanager
    async def watch(self, secret: str) -> AsyncIterator[Watch]:
        """A Watch on `secret` for as long as the caller holds a stream open on it."""
        watch = Watch()
        self._open.setdefault(secret, set()).add(watch)
        try:
            yield watch
        finally:
            streams = self._open.get(secret)
            if streams is not None:
                streams.discard(watch)
                if not streams:
                    self._open.pop(secret, None)
                    self._seen.pop(secret, None)

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
        async with self.watch(secret) as watch:
            await self._stream(send, receive, watch)

    async def _stream(self, send: Send, receive: Receive, watch: Watch) -> None:
        try:
            await send(SSE_START)
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
                        with anyio.move_on_after(KEEPALIVE_SECONDS) as quiet:
                            await watch.wake.wait()
                        watch.wake = anyio.Event()
                        if watch.closed.is_set():
                            tg.cancel_scope.cancel()
                            return
                        body = b": keep-alive\n\n" if quiet.cancelled_caught else b""
                        if watch.changes:
                            body, watch.changes = body + LIST_CHANGED, 0
                        if body:
                            await send({"type": "http.response.body", "body": body, "more_body": True})

                tg.start_soon(wait_for_disconnect)
                tg.start_soon(keep_alive)
            if not client_left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while we wrote


class ListenStreams:
    """`subscriptions/listen` (2026-07-28): a listen stream on an app's URL gets `tools/list_changed` when the app's
    tool changes, and ends gracefully once the URL stops serving. Only the tool list can change, so other
    requested kinds are not acknowledged."""

    def __init__(self, watcher: StreamWatcher) -> None:
        self._watcher = watcher

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        subscription_id = ctx.request_id
        secret = getattr(ctx.request, "path_params", {}).get("secret") if ctx.request is not None else None
        if subscription_id is None or not secret:
            raise MCPError(types.INVALID_REQUEST, "subscriptions/listen needs a request id and an app URL")
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: subscription_id}
        wants_tools = bool(params.notifications.tools_list_changed)
        honored = types.SubscriptionFilter(tools_list_changed=True if wants_tools else None)
        async with self._watcher.watch(secret) as watch:
            await ctx.session.send_notification(
                types.SubscriptionsAcknowledgedNotification(
                    params=types.SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)
                ),
                related_request_id=subscription_id,
            )
            while True:
                await watch.wake.wait()
                watch.wake = anyio.Event()
                if watch.closed.is_set():
                    break
                if watch.changes and wants_tools:
                    watch.changes = 0
                    await ctx.session.send_notification(
                        event_to_notification(ToolsListChanged(), meta), related_request_id=subscription_id
                    )
        return types.SubscriptionsListenResult(_meta=meta)
