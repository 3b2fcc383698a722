"""A session's request served as one exchange: the SDK's server runs it, without the SDK's per-request transport.

The SDK serves each POST of a handshake session (stateless mode) by building a transport, a JSON-RPC dispatcher
over memory streams, a task for the server and an SSE response of its own (sse-starlette: five tasks), and the
resumable layer (backend.mcp.resumable) then parses the SSE bytes it writes, to store each event. A call paid for
all of it: three tenths of the API process's instructions per echo call (docs/benchmarks.md, fix 47). The SDK's
own 2026-07-28 entry takes a shorter way: its single-exchange driver (`serve_one`) runs one request through the
same server (middleware, validation, handlers) against a dispatch context that writes what the handler says onto
the response.

This module takes that way for a POST of a handshake session that holds one well-formed request, with the wire
the SDK's handshake transport gives: a 200 `text/event-stream`, every notification the handler sends for the
request (progress, logs, a question for the client), the response last, the SDK's error mapping, and a
keep-alive comment after `stream_ping_seconds` without an event (15 s by default, the SDK's interval).

- A resumable session (2025-11-25 on) gets what backend.mcp.resumable gives the SDK's stream: the priming event,
  every event stored with its id, and a stream detached from the connection: a client that leaves does not stop
  the call; a call nobody resumes for `stream_abandon_seconds` is given up, its handler cancelled.
- An older session's events go out as they come, without ids, and the client leaving gives the request up at
  once, as it did on the SDK's transport.

Anything else (initialize, notifications, responses, batches, a body that is not JSON or not read whole, headers
the SDK would refuse, a POST outside a session) goes to the SDK unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import anyio
from mcp.server.connection import Connection
from mcp.server.lowlevel import Server
from mcp.server.runner import serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, progress_token_from_params
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import DEFAULT_NEGOTIATED_VERSION, ErrorData, JSONRPCError, JSONRPCNotification, JSONRPCRequest
from mcp_types import JSONRPCResponse, ProgressToken, RequestId
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from backend.core.helpers import Helpers
from backend.core.settings import Settings
from backend.mcp.resumable import ClientLink, DetachedReceive, ResumableCall, resumable_session, sse_frame, stream_owner
from backend.mcp.sessions import BODY_STATE_KEY, REQUEST_ID_STATE_KEY
from backend.mcp.streams import SSE_START

logger = logging.getLogger(__name__)


def single_request(scope: Scope) -> dict[str, Any] | None:
    """The POST's body when it is one JSON-RPC request this module serves (not `initialize`), else None.

    The body was read and parsed once before (backend.mcp.sessions, within the size limit); the checks here are
    the SDK transport's own, so a request it would refuse goes to it and is refused as it always was.
    """
    body = scope["state"].get(BODY_STATE_KEY)
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or set(body) - {"jsonrpc", "id", "method", "params"}:
        return None
    method, params, request_id = body.get("method"), body.get("params", {}), body.get("id")
    if not isinstance(method, str) or method == "initialize" or not isinstance(params, dict):
        return None
    if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
        return None
    return body


class _Exchange:
    """The dispatch context of one request (the SDK's `DispatchContext`): what the handler sends goes on the stream.

    A question for the client (`send_on_stream`, backend.mcp.questions) is a request on the stream under an id of
    Toolpress's choosing, whose response comes back in another POST (questions.take_responses); as in the SDK's
    stateless transport, the session's own `send_raw_request` has no back channel.
    """

    def __init__(self, request: Request, request_id: RequestId, progress_token: ProgressToken | None,
                 call: ResumableCall | _LiveCall) -> None:
        self.transport = TransportContext(kind="streamable-http", can_send_request=False)
        self.request_id = request_id
        self.message_metadata = ServerMessageMetadata(request_context=request)
        self.can_send_request = False
        self.cancel_requested = anyio.Event()  # a cancel arrives in another POST (backend.mcp.cancellation)
        self._progress_token = progress_token
        self._call = call

    async def write(self, message: JSONRPCRequest | JSONRPCNotification | JSONRPCResponse | JSONRPCError) -> None:
        await self._call.event(message.model_dump_json(by_alias=True, exclude_unset=True))

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        body = dict(params) if params is not None else None
        await self.write(JSONRPCNotification(jsonrpc="2.0", method=method, params=body))

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self._progress_token is None:
            return
        params: dict[str, Any] = {"progressToken": self._progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.notify("notifications/progress", params)

    async def send_raw_request(self, method: str, params: Mapping[str, Any] | None,
                               opts: CallOptions | None = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def send_on_stream(self, method: str, params: Mapping[str, Any] | None, opts: Mapping[str, Any]) -> Any:
        """Send a request to the client on this stream under `opts["request_id"]`; its response comes back elsewhere,
        so this waits until the call ends (the asking task is cancelled then)."""
        await self.write(JSONRPCRequest(jsonrpc="2.0", id=opts["request_id"], method=method,
                                        params=dict(params) if params is not None else None))
        await anyio.sleep_forever()


async def _answer(request_id: RequestId, handling: Any) -> JSONRPCResponse | JSONRPCError:
    """The handler's result as the response to `request_id`, or its exception as the SDK's dispatcher maps it."""
    try:
        return JSONRPCResponse(jsonrpc="2.0", id=request_id, result=await handling)
    except Exception as exc:
        error = handler_exception_to_error_data(exc)
        if error is None:
            logger.exception("a request's handler raised")
            error = ErrorData(code=0, message=str(exc))  # what the SDK's dispatcher answers (its v1 compatibility)
        return JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


class Exchanges:
    """Serves single requests of handshake sessions through `server` (see the module's docstring)."""

    def __init__(self, settings: Settings, key: str, server: Server, security: TransportSecurityMiddleware) -> None:
        self._settings, self._key, self._server, self._security = settings, key, server, security
        self.lifespan_state: Any = None  # the server's lifespan state, set while the endpoint runs

    def takes(self, scope: Scope) -> dict[str, Any] | None:
        """The request this POST holds, when it is served here (headers as the SDK's transport wants them)."""
        body = single_request(scope)
        if body is None:
            return None
        request = Request(scope)
        has_json, has_sse = check_accept_headers(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        version = request.headers.get("mcp-protocol-version")
        handshake = version is None or version in HANDSHAKE_PROTOCOL_VERSIONS  # else the SDK's 2026-07-28 entry
        return body if has_json and has_sse and content_type == "application/json" and handshake else None

    async def serve(self, body: dict[str, Any], scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request `body` (`takes`) of this POST on its response stream."""
        connection = DetachedReceive(receive)
        request = Request(scope, connection.for_app)
        refused = await self._security.validate_request(request, is_post=True)
        if refused is not None:
            await refused(scope, receive, send)
            return
        while not connection.body_read.is_set():  # the body was read before: this drains the replay of it
            await connection.for_app()
        version = request.headers.get("mcp-protocol-version") or DEFAULT_NEGOTIATED_VERSION
        session = resumable_session(scope)
        call: ResumableCall | _LiveCall
        if session is not None:
            call = ResumableCall(self._settings, stream_owner(self._key, session), scope["state"].get(REQUEST_ID_STATE_KEY),
                                 send, connection, ping_seconds=self._settings.stream_ping_seconds)
        else:
            call = _LiveCall(send, connection, self._settings.stream_ping_seconds)
        exchange = _Exchange(request, body["id"], progress_token_from_params(body.get("params")), call)
        helpers = Helpers("request exchange")
        helpers.start(call.supervise())
        try:
            with anyio.CancelScope() as handling:
                call.on_release = handling.cancel  # the request is given up: cancelled as a dropped call
                await call.open(SSE_START)
                handler = serve_one(self._server, exchange, body["method"], body.get("params"),
                                    connection=Connection.from_envelope(version, None, None),
                                    lifespan_state=self.lifespan_state)
                await exchange.write(await _answer(body["id"], handler))
                await call.close()
        finally:
            connection.released.set()
            helpers.cancel()


class _LiveCall:
    """The response stream of an older session's request (before 2025-11-25), which cannot resume: events go out
    as they come, without ids, and the client leaving gives the request up, as the SDK's transport did."""

    def __init__(self, send: Send, connection: DetachedReceive, ping_seconds: float) -> None:
        self.client = ClientLink(send, connection.client_left)
        self._connection = connection
        self._ping_seconds = ping_seconds
        self._last_event = anyio.current_time()
        self._ended = False
        self.on_release: Callable[[], object] | None = None

    async def open(self, start: Message) -> None:
        await self.client.send(start)

    async def event(self, data: str) -> None:
        self._last_event = anyio.current_time()
        await self.client.body(sse_frame(None, data))

    async def close(self) -> None:
        self._ended = True
        await self.client.end()

    async def supervise(self) -> None:
        """Until the client leaves: a keep-alive comment after `ping_seconds` without an event."""
        connection = self._connection
        await connection.body_read.wait()
        while not connection.client_left.is_set():
            with anyio.move_on_after(self._last_event + self._ping_seconds - anyio.current_time()):
                await connection.watch_client()
            if not connection.client_left.is_set() and anyio.current_time() - self._last_event >= self._ping_seconds:
                await self.client.body(b": ping\r\n\r\n")
                self._last_event = anyio.current_time()
        if not self._ended and self.on_release is not None:
            self.on_release()
