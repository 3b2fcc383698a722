"""Call streams that survive a dropped connection (SSE polling and resumability, MCP 2025-11-25).

The SDK serves each POST in stateless mode: its transport has no event store, and the call's handler ends when
the POST's stream ends. For a client that can resume (a handshake session at 2025-11-25 or later), Toolpress
puts this layer between the HTTP connection and the SDK:

- the response stream opens with a priming event (an id, empty data) and a `retry` hint;
- every event the SDK writes on it (progress, logs, requests to the client, the result: whoever sends them) is
  appended to the call's stream in the event store (backend.mcp.event_store) and goes out with its id;
- the SDK's request is detached from the connection: when the client goes away, or the server closes the
  stream after `stream_poll_seconds` so a proxy's connection time limit never cuts it, the call keeps running
  and its events keep being stored. The client reconnects with `GET` and `Last-Event-ID` through any API
  process (backend.mcp.replay) and gets what it missed, then the rest live.

A client that wants the call stopped sends `notifications/cancelled` (backend.mcp.cancellation). A call whose
stream nobody has read for `stream_abandon_seconds` (no resumption, in any process) counts as dropped: with
`cancel_on_disconnect` it is cancelled as a dropped call always was. Only handshake sessions get this: in the
2026-07-28 generation closing the POST is how a client cancels, so its streams stay tied to their connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import math
from collections.abc import Callable
from typing import Any

import anyio
from mcp_types.version import is_version_at_least
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from backend.core.helpers import Helpers
from backend.core.settings import Settings
from backend.mcp.event_store import CallEventStore, get_call_event_store
from backend.mcp.sessions import REQUEST_ID_STATE_KEY, SESSION_STATE_KEY, McpSession

logger = logging.getLogger(__name__)

RESUMABLE_SINCE = "2025-11-25"  # older clients cannot parse the priming event (empty data)


def call_event_store(settings: Settings) -> CallEventStore:
    """This process's store of call stream events (Redis in production, memory in embedded mode)."""
    return get_call_event_store(settings.events_backend_url, settings.run_timeout_seconds + settings.stream_grace_seconds)


def stream_owner(key: str, session: McpSession) -> str:
    """Who may resume a stream: a digest of the signed session it was opened in (endpoint and per-session nonce)."""
    return hmac.new(key.encode(), f"sse:{session.endpoint_id}:{session.nonce}".encode(), hashlib.sha256).hexdigest()


def resumable_session(scope: Scope) -> McpSession | None:
    """The session of a POST whose response stream can be made resumable, else None."""
    session = scope.get("state", {}).get(SESSION_STATE_KEY)
    if scope["method"] != "POST" or session is None or not session.nonce:
        return None
    version = session.protocol_version or Headers(scope=scope).get("mcp-protocol-version") or ""
    try:
        return session if is_version_at_least(version, RESUMABLE_SINCE) else None
    except ValueError:
        return None


def sse_frame(event_id: str | None, data: str, retry_ms: int | None = None) -> bytes:
    """One SSE event: `message` type, optional id and retry hint, the data split over `data:` lines."""
    lines = ["event: message"] if data else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if retry_ms is not None:
        lines.append(f"retry: {retry_ms}")
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def _response_prefixes(request_id: str | None) -> tuple[str, ...]:
    """How the SDK's serialised response to `request_id` (JSON) begins, result or error; () for no request.

    An event that begins so ends the stream. One the SDK serialised otherwise is stored as any event, and the
    stream's end follows it when the response closes (one more round trip, the same stream).
    """
    if request_id is None:
        return ()
    return tuple(f'{{"jsonrpc":"2.0","id":{request_id},"{member}":' for member in ("result", "error"))


def _parse_block(block: bytes) -> str | None:
    """The data of one SSE event block written by the SDK, or None for a comment (keep-alive)."""
    data = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(data).decode() if data else None


def _with_id(block: bytes, event_id: str) -> bytes:
    """An SSE event block the SDK wrote, with its id as one more field: the data is not copied line by line again
    (a call's result can be megabytes). Should the SDK ever write an id of its own, ours comes last, and the last
    id field of an event is the one a client keeps."""
    return block + b"\nid: " + event_id.encode() + b"\n\n"


class ClientLink:
    """The client's side of a detached call: sends to it until it leaves or the server closes the stream."""

    def __init__(self, send: Send, closed: anyio.Event | None = None) -> None:
        self._send = send
        self._lock = anyio.Lock()
        self.closed = closed or anyio.Event()  # set once nothing more reaches the client: it left, or the response ended

    @property
    def open(self) -> bool:
        return not self.closed.is_set()

    async def send(self, message: Message) -> None:
        async with self._lock:
            if not self.open:
                return
            try:
                await self._send(message)
            except OSError:  # the client went away while we wrote
                self.closed.set()
                return
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.closed.set()

    async def body(self, chunk: bytes) -> None:
        await self.send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end(self) -> None:
        """Close the response (the client reconnects with Last-Event-ID to read on)."""
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})


class ResumableCall:
    """One POST served by the SDK with its SSE response stored and id'd, and detached from the connection."""

    def __init__(self, settings: Settings, owner: str, request_id: str | None, send: Send,
                 connection: DetachedReceive, ping_seconds: float | None = None) -> None:
        self._settings = settings
        self._store = call_event_store(settings)
        self._owner = owner
        self._request_id = request_id  # the id (JSON) of the request the stream answers (backend.mcp.sessions)
        self._connection = connection
        self.client = ClientLink(send, connection.client_left)
        self._token: str | None = None  # set once the SDK answers with an SSE stream
        self._buffer = b""
        self._final: tuple[str, ...] = ()  # how the response to the request begins (see _response_prefixes)
        self._finished = False  # the stream's end is stored
        self.streaming = anyio.Event()
        self.on_release: Callable[[], object] | None = None  # told when the call is given up (see supervise)
        self._ping_seconds = ping_seconds  # a keep-alive comment after this long without an event (None: the SDK's)
        self._last_event = anyio.current_time()

    async def relay(self, message: Message) -> None:
        """The `send` given to the SDK: events are stored, then forwarded with their ids while the client listens."""
        if message["type"] == "http.response.start":
            content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            if message.get("status") == 200 and content_type.startswith("text/event-stream"):
                await self.open(message)
            else:
                await self.client.send(message)
        elif self._token is None:
            await self.client.send(message)  # not a stream (202, an error): passed on as it is
        else:
            await self._body(message.get("body", b""), message.get("more_body", False))

    async def open(self, start: Message) -> None:
        """Start the response stream (`start`: its 200 with the SSE headers) with the priming event, its first.

        Should the store be away, the stream goes out live, without ids.
        """
        try:
            self._token, priming = await self._store.open(self._owner, self._request_id,
                                                          self._settings.stream_abandon_seconds)
            self._final = _response_prefixes(self._request_id)
        except Exception as exc:
            logger.warning("call stream events cannot be stored (%s); this stream is not resumable", type(exc).__name__)
            self._token = None
            await self.client.send(start)
            return
        await self.client.send(start)
        await self.client.body(sse_frame(priming, "", self._settings.stream_retry_ms))
        self.streaming.set()

    async def _stored(self, data: str) -> str | None:
        """Append an event to the stream; its id, or None when the store failed (it goes out without one).

        The response to the request is the stream's last event: it is stored with the stream's end.
        """
        assert self._token is not None
        last = data.startswith(self._final) if self._final else False
        try:
            event_id = await self._store.append(self._token, data, self._settings.stream_grace_seconds if last else None)
        except Exception as exc:
            logger.warning("a call stream event could not be stored (%s)", type(exc).__name__)
            return None
        self._finished = self._finished or last
        return event_id

    async def event(self, data: str, block: bytes | None = None) -> None:
        """One event of the stream (`data`, JSON): stored, then sent with its id. `block` is the SSE block it came
        in (the SDK's), sent with the id added; without one a block is framed here."""
        self._last_event = anyio.current_time()
        if self._token is None:  # not stored: live only
            await self.client.body(block + b"\n\n" if block is not None else sse_frame(None, data))
            return
        event_id = await self._stored(data)
        if block is None:
            await self.client.body(sse_frame(event_id, data))
        else:
            await self.client.body(_with_id(block, event_id) if event_id is not None else block + b"\n\n")

    async def close(self) -> None:
        """The response is complete: the stream's end is stored (if its last event did not say so) and sent."""
        if self._token is not None and not self._finished:
            with contextlib.suppress(Exception):  # not finished: the stream expires with its ttl instead
                await self._store.finish(self._token, self._settings.stream_grace_seconds)
        await self.client.end()

    async def _body(self, chunk: bytes, more: bool) -> None:
        self._buffer += chunk.replace(b"\r\n", b"\n")
        *blocks, self._buffer = self._buffer.split(b"\n\n")
        for block in blocks:
            data = _parse_block(block)
            if data is None:
                await self.client.body(block + b"\n\n")  # a keep-alive comment: not stored
            else:
                await self.event(data, block)
        if not more:
            await self.close()

    async def supervise(self) -> None:
        """Everything a POST waits on besides the SDK, in one task: the client leaving, and up to four clocks.

        - Writer mark: every `stream_abandon_seconds` / 3, resumptions in any process are told the call's events are
          still being written (`open` marked it first).
        - Keep-alive (a stream written here, not by the SDK, which pings its own): a comment after `ping_seconds`
          without an event.
        - Polling: after `stream_poll_seconds` the client's stream is closed; the call goes on.
        - Abandonment: once the client has left a streaming call, nobody reading it for `stream_abandon_seconds`
          (no resumption, in any process) releases the request as if the client had dropped: the SDK's, or the
          handler of an exchange (backend.mcp.exchange, through `on_release`). The call is then cancelled
          (`cancel_on_disconnect`).

        The clocks start with the POST, a few milliseconds before its stream opens.
        """
        settings, connection = self._settings, self._connection
        window = settings.stream_abandon_seconds
        tick = min(1.0, window / 4)  # how often an abandoned stream is checked for a resumption
        now = anyio.current_time()
        mark_at = now + window / 3
        poll_at = now + settings.stream_poll_seconds if settings.stream_poll_seconds > 0 else math.inf
        read_at: float | None = None  # once the client has left a streaming call: when it was last read
        check_at = math.inf
        ping_at = now + self._ping_seconds if self._ping_seconds else math.inf
        await connection.body_read.wait()
        while True:
            now = anyio.current_time()
            if read_at is None and self.client.closed.is_set() and self.streaming.is_set() and settings.cancel_on_disconnect:
                read_at, check_at = now, now + tick
            with anyio.move_on_after(min(mark_at, poll_at, check_at, ping_at) - now):
                if not connection.client_left.is_set():
                    await connection.watch_client()
                elif read_at is None and not self.streaming.is_set():
                    await self.streaming.wait()  # left before the stream opened: abandonment counts from its opening
                else:
                    await anyio.sleep_forever()
            now = anyio.current_time()
            if now >= mark_at:
                mark_at = now + window / 3
                if self._token is not None:
                    with contextlib.suppress(Exception):
                        await self._store.mark(self._token, "writer", window)
            if now >= ping_at:
                assert self._ping_seconds is not None
                if now - self._last_event >= self._ping_seconds:
                    await self.client.body(b": ping\r\n\r\n")
                    self._last_event = now
                ping_at = self._last_event + self._ping_seconds
            if now >= poll_at:
                poll_at = math.inf
                if self.streaming.is_set() and self.client.open:
                    logger.debug("closing a call's stream for polling; the client resumes it with Last-Event-ID")
                    await self.client.end()
            if read_at is not None and now >= check_at:
                check_at = now + tick
                if await self._read_lately():
                    read_at = now
                elif now - read_at >= window:
                    logger.info("nobody resumed a call's stream for %.0f s; the call counts as dropped", window)
                    connection.released.set()
                    if self.on_release is not None:
                        self.on_release()
                    return

    async def _read_lately(self) -> bool:
        """Whether a resumption marked the stream read lately; a store that is away is no sign the client gave up."""
        try:
            return self._token is not None and await self._store.marked(self._token, "reader")
        except Exception:
            return True


class DetachedReceive:
    """The request's `receive`, split: the SDK gets the body and then no news of the client until `released`;
    `watch_client` notes when the client leaves (it dropped, or the server closed the stream for polling)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.body_read = anyio.Event()
        self.client_left = anyio.Event()
        self.released = anyio.Event()  # set: the SDK is told the client left (the call is given up)

    async def for_app(self) -> Message:
        """The `receive` given to the SDK."""
        if not self.body_read.is_set():
            message = await self._receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                self.body_read.set()
            if message["type"] == "http.disconnect":
                self.client_left.set()
            return message
        await self.released.wait()
        return {"type": "http.disconnect"}

    async def watch_client(self) -> None:
        """Read the real `receive` (once the body is in) until the client is gone; a cancel loses no message."""
        while not self.client_left.is_set() and (await self._receive())["type"] != "http.disconnect":
            pass
        self.client_left.set()


async def serve_resumable(settings: Settings, key: str, session: McpSession, scope: Scope, receive: Receive, send: Send,
                          app: Any) -> None:
    """Serve a POST through `app` (the SDK) with a resumable, detached response stream."""
    connection = DetachedReceive(receive)
    request_id = scope["state"].get(REQUEST_ID_STATE_KEY)  # with_session read the body before the SDK does
    call = ResumableCall(settings, stream_owner(key, session), request_id, send, connection)
    helpers = Helpers("resumable call stream")
    helpers.start(call.supervise())
    try:
        await app(scope, connection.for_app, call.relay)
    finally:
        connection.released.set()
        helpers.cancel()
