"""The legacy HTTP+SSE transport (protocol 2024-11-05) for old clients, on the SDK's SseServerTransport.

`GET /mcp/{secret}/sse` opens the session's event stream; its first event names
`/mcp/{secret}/messages?session_id=…`, where the client POSTs its messages. Both routes resolve the URL
secret first (same 404 as the Streamable HTTP endpoint). One SseServerTransport per URL secret keeps a
session reachable only through the URL it was opened on. A session lives in the process that holds its
GET stream: this transport needs sticky routing (or one API process); the Streamable HTTP endpoint does not.

Cancellation: `notifications/cancelled` cancels the handler; a dropped GET stream ends the session, which
cancels its in-flight calls; either way the run is marked cancelled and its task revoked. When the URL stops
serving (regenerate, disable), open streams are closed within about a second and their calls cancelled.
"""

from __future__ import annotations

import logging
import anyio
from mcp.server.lowlevel import Server
from mcp.server.sse import SseServerTransport
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.mcp.streams import StreamWatcher

logger = logging.getLogger(__name__)

NO_SESSION = JSONResponse({"detail": "Could not find session"}, status_code=404)


class LegacySse:
    """Sessions of the 2024-11-05 HTTP+SSE transport, per URL secret, in this process."""

    def __init__(
        self, server: Server, security: TransportSecuritySettings, max_body: int, watcher: StreamWatcher
    ) -> None:
        self._server = server
        self._security_settings = security
        self._security = TransportSecurityMiddleware(security)
        self._max_body = max_body
        self._watcher = watcher
        self._transports: dict[str, tuple[SseServerTransport, int]] = {}

    def _acquire(self, secret: str) -> SseServerTransport:
        transport, users = self._transports.get(secret, (None, 0))
        if transport is None:
            transport = SseServerTransport(
                f"/mcp/{secret}/messages", security_settings=self._security_settings, max_request_body_size=self._max_body
            )
        self._transports[secret] = (transport, users + 1)
        return transport

    def _release(self, secret: str) -> None:
        transport, users = self._transports[secret]
        if users <= 1:
            del self._transports[secret]
        else:
            self._transports[secret] = (transport, users - 1)

    async def stream(self, scope: Scope, receive: Receive, send: Send, *, secret: str) -> None:
        """GET …/sse: run one MCP session over this event stream until the client leaves or the URL dies."""
        error = await self._security.validate_request(Request(scope, receive), is_post=False)
        if error is not None:
            await error(scope, receive, send)
            return
        transport = self._acquire(secret)
        try:
            async with self._watcher.watch(secret) as watch:
                async with transport.connect_sse(scope, receive, send) as (read_stream, write_stream):
                    async with anyio.create_task_group() as tg:

                        async def end_when_url_dies() -> None:
                            await watch.closed.wait()
                            tg.cancel_scope.cancel()

                        tg.start_soon(end_when_url_dies)
                        await self._server.run(read_stream, write_stream, self._server.create_initialization_options())
                        tg.cancel_scope.cancel()
                    await write_stream.aclose()
        finally:
            self._release(secret)

    async def message(self, scope: Scope, receive: Receive, send: Send, *, secret: str) -> None:
        """POST …/messages?session_id=…: hand a client message to its session, if it was opened on this URL."""
        entry = self._transports.get(secret)
        if entry is None:
            await NO_SESSION(scope, receive, send)
            return
        await entry[0].handle_post_message(scope, receive, send)
