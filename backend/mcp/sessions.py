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
from dataclasses import dataclass
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from backend.core.security import sign, unsign
from backend.services.endpoints import EndpointTarget

SESSION_HEADER = "mcp-session-id"
SESSION_STATE_KEY = "toolpress_session"
_SALT = "toolpress-mcp-session"
SESSION_MAX_AGE = 30 * 24 * 3600  # a client idle longer than this initializes again (after a 404)

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


def _binding(target: EndpointTarget) -> str:
    return target.endpoint.secret_hash[:16]


def issue(key: str, target: EndpointTarget, initialize_params: dict[str, Any]) -> str:
    """A signed session id for an `initialize` on `target`."""
    info = initialize_params.get("clientInfo") if isinstance(initialize_params.get("clientInfo"), dict) else {}
    name, version = info.get("name"), info.get("version")
    pv = initialize_params.get("protocolVersion")
    payload = {
        "e": target.endpoint.id,
        "b": _binding(target),
        "n": name[:100] if isinstance(name, str) else None,
        "v": version[:50] if isinstance(version, str) else None,
        "p": pv[:20] if isinstance(pv, str) else None,
    }
    return sign(key, payload, _SALT)


def verify(key: str, target: EndpointTarget, session_id: str) -> McpSession | None:
    """The session behind an id, or None when it is forged, expired or belongs to another (or an old) URL."""
    if len(session_id) > 1000:
        return None
    data = unsign(key, session_id, _SALT, SESSION_MAX_AGE)
    if not isinstance(data, dict) or data.get("e") != target.endpoint.id or data.get("b") != _binding(target):
        return None
    return McpSession(data["e"], data.get("n"), data.get("v"), data.get("p"))


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


async def with_session(
    scope: Scope, receive: Receive, send: Send, *, key: str, target: EndpointTarget, max_body: int, app: Any
) -> None:
    """Verify a presented session id, or issue one on `initialize`, then run `app` (the SDK)."""
    headers = Headers(scope=scope)
    presented = headers.get(SESSION_HEADER)
    if presented is not None:
        session = verify(key, target, presented)
        if session is None:
            await SESSION_NOT_FOUND(scope, receive, send)
            return
        scope.setdefault("state", {})[SESSION_STATE_KEY] = session
        await app(scope, receive, _with_allow(send))
        return

    version = headers.get("mcp-protocol-version")
    if scope["method"] != "POST" or (version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS):
        await app(scope, receive, _with_allow(send))
        return

    # Peek at the body (bounded; the SDK enforces the real limit) to see whether this is `initialize`.
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

    params = None if more else _initialize_params(bytes(body))
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
