"""The GET stream of the Streamable HTTP transport, bound to the URL it was opened on.

The spec lets a client open `GET` on the endpoint for server-initiated messages; the server answers with an
SSE stream or 405. The SDK's stateless mode answers with a stream nobody ever writes to and nobody closes.
Toolpress answers 200 `text/event-stream` (clients such as VS Code expect a stream, not a bare 405), sends a
comment at once and a keep-alive comment every 15 s so proxies keep it open, and closes it within about a
second once the URL stops serving (regenerated, disabled, app deleted). One watcher per process checks the
URLs that have open streams once a second: one query per distinct URL, not per stream. The check returns a
fingerprint of what the URL serves (backend.mcp.changes); when it changes (the app was republished with another
tool, prompt list or resource list), every open stream on that URL gets the matching `list_changed`
notification, and a stream whose session subscribed to a resource whose content changed gets
`notifications/resources/updated` (the session's subscriptions are rows, made through any process).
"""

from __future__ import annotations

import contextlib
import json
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
from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY, ServerEvent, event_matches, event_to_notification
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.core import shutdown
from backend.mcp.changes import Fingerprint
from backend.mcp.sessions import SESSION_STATE_KEY

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


def sse_event(event: ServerEvent) -> bytes:
    """One change notification as an SSE `message` event (no `_meta`: the GET stream is not a listen stream)."""
    message: dict[str, Any] = event_to_notification(event, {}).model_dump(by_alias=True, mode="json", exclude_none=True)
    params = message.get("params") or {}
    params.pop("_meta", None)
    body = {"jsonrpc": "2.0", "method": message["method"], **({"params": params} if params else {})}
    return b"event: message\ndata: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


async def admit_get(security: TransportSecurityMiddleware, scope: Scope, receive: Receive, send: Send) -> Request | None:
    """The request of a GET that passes the Host/Origin checks and accepts SSE; None once it has been refused."""
    request = Request(scope, receive)
    error = await security.validate_request(request, is_post=False)
    if error is not None:
        await error(scope, receive, send)
        return None
    if not check_accept_headers(request)[1]:
        await NOT_ACCEPTABLE(scope, receive, send)
        return None
    return request


@dataclass(eq=False)
class Watch:
    """One open stream's view of its URL: closed for good, or the events to send since the last wake.

    `uris` are the resources the stream itself subscribed to (a listen stream); a GET stream's come from its
    session's `resources/subscribe` rows (`session_key`).
    """

    closed: anyio.Event = field(default_factory=anyio.Event)
    events: list[ServerEvent] = field(default_factory=list)
    wake: anyio.Event = field(default_factory=anyio.Event)
    session_key: str | None = None
    uris: frozenset[str] | None = None

    def close(self) -> None:
        self.closed.set()
        self.wake.set()

    def notify(self, events: list[ServerEvent]) -> None:
        if events:
            self.events += events
            self.wake.set()

    def take(self) -> list[ServerEvent]:
        events, self.events = self.events, []
        return events


class StreamWatcher:
    """Open streams per URL secret: closed when `fingerprint(secret)` turns None, told when it changes."""

    def __init__(
        self,
        fingerprint: Callable[[str], Fingerprint | None],
        security: TransportSecurityMiddleware,
        subscriptions: Callable[[list[str]], dict[str, set[str]]],
    ) -> None:
        self._fingerprint = fingerprint
        self._security = security
        self._subscriptions = subscriptions
        self._open: dict[str, set[Watch]] = {}
        self._seen: dict[str, Fingerprint] = {}

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
                    await self._tell(self._open.get(secret, set()), before, current)

    async def _tell(self, watches: set[Watch], before: Fingerprint, after: Fingerprint) -> None:
        """Give each stream on a URL the list changes and the updates of the resources it subscribed to."""
        listed = before.list_events(after)
        keys = sorted({w.session_key for w in watches if w.session_key is not None and w.uris is None})
        by_session: dict[str, set[str]] = {}
        if keys and (before.contents != after.contents or before.templates != after.templates):
            try:
                by_session = await anyio.to_thread.run_sync(self._subscriptions, keys)
            except Exception:  # a database hiccup loses these updates, not the stream
                logger.warning("could not read the resource subscriptions of open streams")
        for watch in list(watches):
            uris = watch.uris if watch.uris is not None else by_session.get(watch.session_key or "", set())
            watch.notify([*listed, *before.updated(after, uris)])

    @contextlib.asynccontextmanager
    async def watch(
        self, secret: str, *, session_key: str | None = None, uris: frozenset[str] | None = None
    ) -> AsyncIterator[Watch]:
        """A Watch on `secret` for as long as the caller holds a stream open on it."""
        watch = Watch(session_key=session_key, uris=uris)
        if secret not in self._seen:  # what the stream is told of are changes from what the URL serves now
            try:
                current = await anyio.to_thread.run_sync(self._fingerprint, secret)
            except Exception:  # the loop takes the first look instead
                current = None
            if current is not None:
                self._seen[secret] = current
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
        if await admit_get(self._security, scope, receive, send) is None:
            return
        session = scope.get("state", {}).get(SESSION_STATE_KEY)
        async with self.watch(secret, session_key=session.nonce if session is not None else None) as watch:
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
                        body += b"".join(sse_event(event) for event in watch.take())
                        if body:
                            await send({"type": "http.response.body", "body": body, "more_body": True})

                tg.start_soon(wait_for_disconnect)
                tg.start_soon(keep_alive)
            if not client_left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while we wrote


class ListenStreams:
    """`subscriptions/listen` (2026-07-28): a listen stream on an app's URL gets the list changes it asked for and
    `resources/updated` for the resources it names, and ends gracefully once the URL stops serving. Prompt and
    resource notices are honored only where the URL serves prompts or resources."""

    def __init__(self, watcher: StreamWatcher, served: Callable[[ServerRequestContext[Any, Any]], tuple[bool, bool]]) -> None:
        self._watcher = watcher
        self._served = served  # (has prompts, has resources) of the request's URL

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        subscription_id = ctx.request_id
        secret = getattr(ctx.request, "path_params", {}).get("secret") if ctx.request is not None else None
        if subscription_id is None or not secret:
            raise MCPError(types.INVALID_REQUEST, "subscriptions/listen needs a request id and an app URL")
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: subscription_id}
        asked = params.notifications
        has_prompts, has_resources = await anyio.to_thread.run_sync(self._served, ctx)
        honored = types.SubscriptionFilter(
            tools_list_changed=True if asked.tools_list_changed else None,
            prompts_list_changed=True if asked.prompts_list_changed and has_prompts else None,
            resources_list_changed=True if asked.resources_list_changed and has_resources else None,
            resource_subscriptions=list(asked.resource_subscriptions) if asked.resource_subscriptions and has_resources else None,
        )
        uris = frozenset(honored.resource_subscriptions or ())
        async with self._watcher.watch(secret, uris=uris) as watch:
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
                for event in watch.take():
                    if event_matches(honored, uris, event):
                        await ctx.session.send_notification(
                            event_to_notification(event, meta), related_request_id=subscription_id
                        )
        return types.SubscriptionsListenResult(_meta=meta)
