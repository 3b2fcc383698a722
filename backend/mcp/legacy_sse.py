"""The legacy HTTP+SSE transport (protocol 2024-11-05) for old clients, with no sticky routing needed.

`GET /mcp/{secret}/sse` opens the session's event stream; its first event names
`/mcp/{secret}/messages?session_id=…`, where the client POSTs its messages. The session runs in the process
holding the stream, but a POST may reach any API process: the session id is signed by the server key and
bound to the URL it was opened on (like the Streamable HTTP session ids), so any process can check it, and
the message travels to the session over the event bus (in process memory in embedded mode, Redis pub/sub in
production). A POST answers 202 once the message is on its way; a forged, foreign or expired session id gets
404, a body that is not JSON-RPC 400, an oversized one 413.

Cancellation: `notifications/cancelled` cancels the handler; a dropped GET stream ends the session, which
cancels its in-flight calls; either way the run is marked cancelled and its task revoked. When the URL stops
serving (regenerate, disable), open streams are closed within about a second and their calls cancelled.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from backend.core.events import get_event_bus
from backend.core.security import sign, unsign
from backend.mcp.handlers import TARGET_STATE_KEY
from backend.mcp.runs import LEGACY_STATE_KEY
from backend.mcp.sessions import SESSION_MAX_AGE, binding_of
from backend.mcp.step_logs import LOG_SESSION_STATE_KEY
from backend.mcp.streams import KEEPALIVE_SECONDS, SSE_START, StreamWatcher
from backend.services.endpoints import EndpointTarget

logger = logging.getLogger(__name__)

_SALT = "toolpress-legacy-sse-session"
_CHANNEL = "legacy-sse:"


def _answer(status: int, text: str, **headers: str) -> Response:
    return Response(text, status_code=status, headers=headers or None)


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


class LegacySse:
    """Sessions of the 2024-11-05 HTTP+SSE transport: streams held here, messages accepted anywhere."""

    def __init__(
        self,
        server: Server,
        security: TransportSecuritySettings,
        max_body: int,
        watcher: StreamWatcher,
        *,
        key: str,
        bus_url: str,
        resolve: Callable[[str], Awaitable[EndpointTarget | None]],
    ) -> None:
        self._server = server
        self._security = TransportSecurityMiddleware(security)
        self._max_body = max_body
        self._watcher = watcher
        self._key = key
        self._bus_url = bus_url
        self._resolve = resolve

    async def stream(self, scope: Scope, receive: Receive, send: Send, *, secret: str, target: EndpointTarget) -> None:
        """GET …/sse: run one MCP session over this event stream until the client leaves or the URL dies."""
        error = await self._security.validate_request(Request(scope, receive), is_post=False)
        if error is not None:
            await error(scope, receive, send)
            return
        nonce = secrets.token_hex(16)
        session_id = sign(self._key, {"b": binding_of(target), "n": nonce}, _SALT)
        path = f"{scope.get('root_path', '').rstrip('/')}/mcp/{quote(secret)}/messages?session_id={session_id}"
        inbound_writer, inbound = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        outbound, outbound_reader = anyio.create_memory_object_stream[SessionMessage](0)
        await send(SSE_START)
        client_left = False
        bus = get_event_bus(self._bus_url)
        try:
            async with bus.subscribe(_CHANNEL + nonce) as mailbox, self._watcher.watch(secret) as watch:
                await send({"type": "http.response.body", "body": _event("endpoint", path), "more_body": True})
                async with anyio.create_task_group() as tg:

                    async def run_session() -> None:
                        await self._server.run(inbound, outbound, self._server.create_initialization_options())
                        tg.cancel_scope.cancel()

                    async def deliver_inbound() -> None:
                        async with inbound_writer:
                            while True:
                                event = await mailbox.get(timeout=None)
                                message = await self._inbound(secret, nonce, event)
                                if message is None:
                                    continue
                                await inbound_writer.send(message)

                    async def write_outbound() -> None:
                        async with outbound_reader:
                            async for message in outbound_reader:
                                data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                                await send({"type": "http.response.body", "body": _event("message", data), "more_body": True})

                    async def keep_alive() -> None:
                        while True:
                            with anyio.move_on_after(KEEPALIVE_SECONDS):
                                await watch.closed.wait()
                                tg.cancel_scope.cancel()  # the URL stopped serving
                                return
                            await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})

                    async def wait_for_disconnect() -> None:
                        nonlocal client_left
                        while (await receive())["type"] != "http.disconnect":
                            pass
                        client_left = True
                        tg.cancel_scope.cancel()

                    for task in (run_session, deliver_inbound, write_outbound, keep_alive, wait_for_disconnect):
                        tg.start_soon(task)
            if not client_left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while we wrote

    async def _inbound(self, secret: str, nonce: str, event: dict[str, Any]) -> SessionMessage | None:
        """A relayed POST as the session message the SDK expects, its request bound to the URL's current target."""
        try:
            message = types.jsonrpc_message_adapter.validate_json(event["body"], by_name=False)
        except (KeyError, ValidationError):
            return None
        target = await self._resolve(secret)
        if target is None:
            return None  # the URL died between the POST and now; the watcher closes the stream
        request = Request(
            {
                "type": "http",
                "method": "POST",
                "path": "/messages",
                "query_string": b"",
                "headers": [(b"user-agent", str(event.get("agent") or "").encode("latin-1", "replace"))],
                "state": {TARGET_STATE_KEY: target, LEGACY_STATE_KEY: True, LOG_SESSION_STATE_KEY: f"sse-{nonce}"},
            }
        )
        return SessionMessage(message, metadata=ServerMessageMetadata(request_context=request))

    async def message(self, scope: Scope, receive: Receive, send: Send, *, secret: str, target: EndpointTarget) -> None:
        """POST …/messages?session_id=…: check the session belongs to this URL, then relay the message to it."""
        if scope["method"] != "POST":
            await _answer(405, "Method Not Allowed", Allow="POST")(scope, receive, send)
            return
        request = Request(scope, receive)
        error = await self._security.validate_request(request, is_post=True)
        if error is not None:
            await error(scope, receive, send)
            return
        session_id = request.query_params.get("session_id")
        if not session_id:
            await _answer(400, "session_id is required")(scope, receive, send)
            return
        data = unsign(self._key, session_id, _SALT, SESSION_MAX_AGE) if len(session_id) <= 500 else None
        if not isinstance(data, dict) or data.get("b") != binding_of(target) or not isinstance(data.get("n"), str):
            await _answer(404, "Could not find session")(scope, receive, send)
            return
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_body:
                await _answer(413, f"Request body larger than {self._max_body} bytes")(scope, receive, send)
                return
        try:
            types.jsonrpc_message_adapter.validate_json(bytes(body), by_name=False)
        except ValidationError:
            await _answer(400, "Could not parse message: the body is not a JSON-RPC message")(scope, receive, send)
            return
        event = {"body": bytes(body).decode("utf-8", "replace"), "agent": request.headers.get("user-agent", "")[:200]}
        bus = get_event_bus(self._bus_url)
        await anyio.to_thread.run_sync(bus.publish, _CHANNEL + data["n"], event)
        await _answer(202, "Accepted")(scope, receive, send)

