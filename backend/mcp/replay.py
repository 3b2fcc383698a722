"""`GET` with `Last-Event-ID`: resume a call's stream, in whichever API process the request lands.

The client names the last event it received; it gets every event that followed on that call's stream (from the
event store, backend.mcp.event_store), then the rest live until the call's result, and then the stream ends.
Only the session that opened the stream may resume it: an id that this server never issued, that expired, or
that belongs to another session gets a 404 with nothing of the stream in it. The resumed stream is closed for
polling like the first one (`stream_poll_seconds`), and the client resumes again from its latest id.

The process serving the call marks the stream alive while it writes it. If that process dies (killed, not
drained), nothing will ever end the stream: the first resumption to notice ends it with a JSON-RPC error for
the call's request, which says the run goes on in its worker, instead of leaving the client waiting forever.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging

import anyio
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.core.settings import Settings
from backend.mcp.event_store import CallEventStore, parse_event_id
from backend.mcp.resumable import ClientLink, call_event_store, sse_frame, stream_owner
from backend.mcp.sessions import SESSION_STATE_KEY
from backend.mcp.streams import KEEPALIVE_SECONDS, SSE_START, admit_get

logger = logging.getLogger(__name__)

LAST_EVENT_ID = "last-event-id"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}, status_code=status)


MALFORMED = _error(400, "Bad Request: Last-Event-ID is not an event id this server issued")
NO_SESSION = _error(400, "Bad Request: resuming a stream needs the Mcp-Session-Id of the session that opened it")
ORPHANED = ("The server process streaming this call stopped before the call ended. The run itself goes on in its "
            "worker and its outcome is recorded with the app's runs; call the tool again for a fresh result.")
STORE_AWAY = _error(503, "Service Unavailable: the stream cannot be resumed right now; retry with the same Last-Event-ID")
UNKNOWN = _error(404, "Not Found: no stream to resume for this Last-Event-ID (unknown, expired or not this session's)")


def wants_replay(scope: Scope) -> bool:
    """Whether a request is a resumption: a GET naming the last event its client received."""
    return scope["method"] == "GET" and Headers(scope=scope).get(LAST_EVENT_ID) is not None


class Replay:
    """Answers resumptions for every endpoint of this process."""

    def __init__(self, settings: Settings, key: str, security: TransportSecurityMiddleware) -> None:
        self._settings = settings
        self._key = key
        self._security = security

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Validate the request and the id, then stream what followed the id until the call's end."""
        request = await admit_get(self._security, scope, receive, send)
        if request is None:
            return
        parsed = parse_event_id(request.headers[LAST_EVENT_ID])
        refusal = await self._refusal(parsed, scope)
        if refusal is not None or parsed is None:
            await (refusal or MALFORMED)(scope, receive, send)
            return
        await self._stream(parsed, receive, send)

    async def _refusal(self, parsed: tuple[str, str] | None, scope: Scope) -> JSONResponse | None:
        """Why this resumption is refused (a malformed id, no session, not this session's stream), or None."""
        if parsed is None:
            return MALFORMED
        session = scope.get("state", {}).get(SESSION_STATE_KEY)
        if session is None or not session.nonce:
            return NO_SESSION
        try:
            owner = await call_event_store(self._settings).owner(parsed[0])
        except Exception as exc:
            logger.warning("cannot check a stream to resume: the event store is unreachable (%s)", type(exc).__name__)
            return STORE_AWAY
        if owner is None or not hmac.compare_digest(owner, stream_owner(self._key, session)):
            return UNKNOWN
        return None

    async def _stream(self, parsed: tuple[str, str], receive: Receive, send: Send) -> None:
        token, after = parsed
        client = ClientLink(send)
        store = call_event_store(self._settings)
        await client.send(SSE_START)
        await client.body(b": resumed\n\n")
        async with anyio.create_task_group() as tg:
            tg.start_soon(_until_disconnect, receive, tg.cancel_scope)
            tg.start_soon(self._mark_reading, store, token)
            if self._settings.stream_poll_seconds > 0:
                tg.start_soon(_cancel_after, self._settings.stream_poll_seconds, tg.cancel_scope)
            try:
                await self._relay(store, token, after, client)
            except Exception as exc:  # the store failed: the stream ends, and the client resumes again
                logger.warning("a resumed call stream ended early: its events could not be read (%s)", type(exc).__name__)
            tg.cancel_scope.cancel()
        await client.end()

    async def _relay(self, store: CallEventStore, token: str, after: str, client: ClientLink) -> None:
        """Send the events that follow `after` until the stream's end; end it for good if its call's process died."""
        quiet = min(KEEPALIVE_SECONDS, self._settings.stream_abandon_seconds / 2)
        events = store.follow(token, after, quiet)
        async with contextlib.aclosing(events):
            async for event in events:
                if event is None and not await _writer_alive(store, token):
                    await self._orphaned(store, token, client)
                    return
                if event is None:
                    await client.body(b": keep-alive\n\n")
                elif event.data is not None:
                    await client.body(sse_frame(event.event_id, event.data))
                if not client.open:
                    return

    async def _orphaned(self, store: CallEventStore, token: str, client: ClientLink) -> None:
        """The process serving the call stopped without ending its stream: end it with an error for its request."""
        logger.warning("a resumed call stream lost the process that served its call; it ends with an error")
        request_id = await store.request_id(token)
        if request_id is not None:
            error = {"jsonrpc": "2.0", "id": json.loads(request_id), "error": {"code": -32603, "message": ORPHANED}}
            data = json.dumps(error, separators=(",", ":"))
            await client.body(sse_frame(await store.append(token, data, self._settings.stream_grace_seconds), data))
            return
        await store.finish(token, self._settings.stream_grace_seconds)

    async def _mark_reading(self, store: CallEventStore, token: str) -> None:
        """Tell the call's own process, wherever it is, that its client is back (see `give_up_when_abandoned`)."""
        window = self._settings.stream_abandon_seconds
        while True:
            with contextlib.suppress(Exception):
                await store.mark(token, "reader", window)
            await anyio.sleep(window / 3)


async def _writer_alive(store: CallEventStore, token: str) -> bool:
    try:
        return await store.marked(token, "writer")
    except Exception:  # the store is away: no sign the call's process died
        return True


async def _until_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _cancel_after(seconds: float, scope: anyio.CancelScope) -> None:
    await anyio.sleep(seconds)
    scope.cancel()
