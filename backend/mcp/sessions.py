"""Handshake-protocol sessions that live in the session id itself, not in process memory.

The SDK serves the endpoint in stateless mode, so any API process can answer any request. Clients of the
handshake protocol (2024-11-05 … 2025-11-25) still expect an `Mcp-Session-Id` on the InitializeResult;
some need it (the conformance suite's multiple-streams scenario, clients that key their state on it).
Toolpress issues a signed, self-contained session id on `initialize`: it names the endpoint (bound to the
current URL secret, so a regenerated URL invalidates it) and the client's name/version. Every process can
verify it with the server key; a tampered, expired or foreign id gets 404, which tells the client to
initialize again (the spec's rule for an unknown session). DELETE answers 405: sessions hold nothing to
free, and the spec lets a server refuse client-initiated termination.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from backend.core.security import sign, unsign
from backend.services import subscriptions
from backend.services.endpoints import EndpointTarget

SESSION_HEADER = "mcp-session-id"
SESSION_STATE_KEY = "toolpress_session"
REQUEST_ID_STATE_KEY = "toolpress_request_id"  # the POST's request id (JSON), once a session's body was read
BODY_STATE_KEY = "toolpress_body"  # the POST's parsed body (JSON), when it was read whole and within the limit
_SALT = "toolpress-mcp-session"
SESSION_MAX_AGE = subscriptions.SESSION_MAX_AGE  # a client idle longer than this initializes again (after a 404)

SESSION_NOT_FOUND = JSONResponse(
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": "Session not found; initialize again"}},
    status_code=404,
)


@dataclass(frozen=True)
class McpSession:
    """What a verified session id says."""

    endpoint_id: int
    client_name: str | None
    client_version: str | None
    protocol_version: str | None
    nonce: str | None = None  # random per `initialize`: names the session's requests across processes
    capabilities: tuple[str, ...] = ()  # what the client declared of elicitation and sampling (backend.mcp.questions)


def binding_of(target: EndpointTarget) -> str:
    """What ties a session id to the URL it was opened on: a regenerated URL breaks the tie."""
    return target.endpoint.secret_hash[:16]


def issue(key: str, target: EndpointTarget, initialize_params: dict[str, Any]) -> str:
    """A signed session id for an `initialize` on `target`."""
    info = initialize_params.get("clientInfo") if isinstance(initialize_params.get("clientInfo"), dict) else {}
    name, version = info.get("name"), info.get("version")
    pv = initialize_params.get("protocolVersion")
    declared = initialize_params.get("capabilities") if isinstance(initialize_params.get("capabilities"), dict) else {}
    payload = {
        "e": target.endpoint.id,
        "b": binding_of(target),
        "n": name[:100] if isinstance(name, str) else None,
        "v": version[:50] if isinstance(version, str) else None,
        "p": pv[:20] if isinstance(pv, str) else None,
        "s": secrets.token_hex(8),
        "c": [name for name in ("elicitation", "sampling") if isinstance(declared.get(name), dict)],
    }
    return sign(key, payload, _SALT)


def verify(key: str, target: EndpointTarget, session_id: str) -> McpSession | None:
    """The session behind an id, or None when it is forged, expired or belongs to another (or an old) URL."""
    if len(session_id) > 1000:
        return None
    data = unsign(key, session_id, _SALT, SESSION_MAX_AGE)
    if not isinstance(data, dict) or data.get("e") != target.endpoint.id or data.get("b") != binding_of(target):
        return None
    nonce = data.get("s")
    declared = tuple(str(c) for c in data.get("c") or [] if isinstance(c, str))
    return McpSession(data["e"], data.get("n"), data.get("v"), data.get("p"), nonce if isinstance(nonce, str) else None,
                      declared)


def _initialize_params(body: bytes) -> dict[str, Any] | None:
    """The params of an `initialize` request in a POST body (single message or batch), else None."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # deep nesting: not an initialize; the SDK answers the parse error
        return None
    for message in parsed if isinstance(parsed, list) else [parsed]:
        if isinstance(message, dict) and message.get("method") == "initialize" and "id" in message:
            params = message.get("params")
            return params if isinstance(params, dict) else {}
    return None


async def _peek_body(receive: Receive, max_body: int) -> tuple[bytes | None, Receive]:
    """Read a POST body (bounded) and a `receive` that replays it; the body is None when it was cut short."""
    body = bytearray()
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
        if len(body) > max_body:
            break
    more = bool(pending == [] and message.get("more_body", False))
    pending.insert(0, {"type": "http.request", "body": bytes(body), "more_body": more})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return (None if more else bytes(body)), replay


def parsed_body(body: bytes | None) -> Any:
    """A POST body's JSON, parsed once for every look Toolpress takes at it; None when it is absent or not JSON.

    The SDK parses the body again (and answers the parse error): nothing here depends on a body being valid.
    """
    if body is None:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # deep nesting or not JSON: the SDK answers it
        return None


def cancelled_request_ids(parsed: Any) -> list[Any]:
    """The request ids named by `notifications/cancelled` messages in a parsed POST body (one message or a batch)."""
    ids = []
    for message in parsed if isinstance(parsed, list) else [parsed]:
        if isinstance(message, dict) and message.get("method") == "notifications/cancelled":
            params = message.get("params")
            request_id = params.get("requestId") if isinstance(params, dict) else None
            if isinstance(request_id, (str, int)) and not isinstance(request_id, bool):
                ids.append(request_id)
    return ids


def request_id_of(parsed: Any) -> str | None:
    """The id (as JSON) of the single message of a parsed POST body; None for a batch, no id, or no body."""
    request_id = parsed.get("id") if isinstance(parsed, dict) else None
    return json.dumps(request_id) if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None


OnCancelled = Callable[[McpSession, list[Any]], Awaitable[None]]
# Takes a parsed POST body that holds only the client's responses to Toolpress's own requests; True when it took it
OnResponses = Callable[[Any], Awaitable[bool]]
ACCEPTED = Response(status_code=202)


async def with_session(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    key: str,
    target: EndpointTarget,
    max_body: int,
    app: Any,
    on_cancelled: OnCancelled | None = None,
    on_responses: OnResponses | None = None,
) -> None:
    """Verify a presented session id, or issue one on `initialize`, then run `app` (the SDK).

    A POST in a session that carries `notifications/cancelled` is also handed to `on_cancelled` (the call it
    names may run in another process), before the SDK sees it. One that holds only the client's responses to
    Toolpress's requests (answers to a parked run's question) goes to `on_responses` and is answered 202.
    """
    headers = Headers(scope=scope)
    presented = headers.get(SESSION_HEADER)
    if presented is not None:
        session = verify(key, target, presented)
        if session is None:
            await SESSION_NOT_FOUND(scope, receive, send)
            return
        scope.setdefault("state", {})[SESSION_STATE_KEY] = session
        if scope["method"] == "POST" and on_cancelled is not None:
            body, receive = await _peek_body(receive, max_body)
            parsed = parsed_body(body)
            scope["state"][REQUEST_ID_STATE_KEY] = request_id_of(parsed)
            if body is not None and len(body) <= max_body:  # the SDK refuses a larger one
                scope["state"][BODY_STATE_KEY] = parsed
            cancelled = cancelled_request_ids(parsed)
            if cancelled:
                await on_cancelled(session, cancelled)
            if parsed is not None and on_responses is not None and await on_responses(parsed):
                await ACCEPTED(scope, receive, send)
                return
        await app(scope, receive, _with_allow(send))
        return

    version = headers.get("mcp-protocol-version")
    if scope["method"] != "POST" or (version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS):
        await app(scope, receive, _with_allow(send))
        return

    # Peek at the body (bounded; the SDK enforces the real limit) to see whether this is `initialize`.
    body, replay = await _peek_body(receive, max_body)
    params = None if body is None else _initialize_params(body)
    if params is None:
        await app(scope, replay, _with_allow(send))
        return
    session_id = issue(key, target, params)

    async def send_with_session(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            message = {**message, "headers": [*message.get("headers", []), (SESSION_HEADER.encode(), session_id.encode())]}
        await send(message)

    await app(scope, replay, send_with_session)


def _with_allow(send: Send) -> Send:
    """405 answers name the methods the endpoint does allow (HTTP requires `Allow`)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            names = {name.lower() for name, _ in message.get("headers", [])}
            if b"allow" not in names:
                message = {**message, "headers": [*message.get("headers", []), (b"allow", b"GET, POST")]}
        await send(message)

    return wrapped
