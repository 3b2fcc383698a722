"""Ways into the MCP endpoint besides the secret URL, and what every call must pass before it runs.

- `/mcp/e/{id}` (an app endpoint) and `/mcp/t/{id}` (a toolkit), each also with a trailing `/mcp`, take
  `Authorization: Bearer <token>`. A missing, unknown, expired or revoked token gets 401 with a
  `WWW-Authenticate` header and a message saying which; a good token for a switched-off server gets
  the same 404 as a switched-off URL.
- `admitted_call` holds a call's place within the limits of its endpoint or toolkit and of its token,
  or refuses it with an MCP error naming the limit and when to retry.
- `limit_body` answers an oversized request body with 413 and a message giving the limit.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.services.endpoints import EndpointTarget
from backend.services.limits import LimitExceeded, LimitScope, get_limiter, new_ticket
from backend.services.oauth import ResourceRef, authenticate_access_token, family_is_live
from backend.services.tokens import TOKEN_PREFIX, Bearer, TokenRejected, authenticate, split_authorization, token_is_active
from backend.services.toolkits import ServedTool, ToolkitTarget, resolve_endpoint, resolve_toolkit, served_tools

if TYPE_CHECKING:
    from backend.mcp.endpoint import McpEndpointApp

logger = logging.getLogger(__name__)

ACCESS_STATE_KEY = "toolpress_access"
BEARER_WATCH_PREFIX = "bearer:"
LIMIT_EXCEEDED = -32029  # a server-defined JSON-RPC error code: the call was refused by a limit, nothing ran

Target = EndpointTarget | ToolkitTarget


def find_tool(target: Target, name: str) -> ServedTool:
    """The tool called `name` on this target; an MCP invalid-params error naming the offered tools otherwise."""
    tools = served_tools(target)
    for tool in tools:
        if tool.name == name:
            return tool
    offered = ", ".join(repr(t.name) for t in tools[:20]) or "no tools"
    raise MCPError(types.INVALID_PARAMS, f"unknown tool {name[:100]!r}; this server offers {offered}")


def bearer_of(ctx: ServerRequestContext[Any, Any]) -> Bearer | None:
    """The accepted token of the request, if it came through the bearer way in."""
    return getattr(getattr(ctx.request, "state", None), ACCESS_STATE_KEY, None)


def _pick(configured: int | None, default: int) -> int:
    return default if configured is None else configured


def limit_scopes(settings: Settings, target: Target, bearer: Bearer | None) -> list[LimitScope]:
    """The scopes a call on `target` counts against: its endpoint or toolkit, and its token."""
    row = target.endpoint
    kind, label = ("toolkit", "this toolkit") if isinstance(target, ToolkitTarget) else ("endpoint", "this MCP server")
    scopes = [
        LimitScope(
            key=f"{kind}:{row.id}",
            label=label,
            calls_per_minute=_pick(row.calls_per_minute, settings.rate_limit_per_minute),
            max_concurrent_runs=_pick(row.max_concurrent_runs, settings.max_concurrent_runs),
        )
    ]
    if bearer is not None:
        scopes.append(
            LimitScope(
                key=bearer.limit_key,
                label=f"the token {bearer.name!r}" if bearer.access == "token" else f"the OAuth client {bearer.name!r}",
                calls_per_minute=_pick(bearer.calls_per_minute, settings.token_rate_limit_per_minute),
                max_concurrent_runs=_pick(bearer.max_concurrent_runs, settings.token_max_concurrent_runs),
            )
        )
    return [s for s in scopes if s.calls_per_minute or s.max_concurrent_runs]


@dataclass
class Admission:
    """A call's place within its limits; `record` holds the Run fields saying how the call came in."""

    record: dict[str, Any]
    _release: Callable[[], Awaitable[None]] | None = None

    async def release(self) -> None:
        """Give the place back (once the run has ended); safe to call twice."""
        release, self._release = self._release, None
        if release is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await release()
            except Exception as exc:  # the ticket lapses on its own
                logger.warning("could not release a call's limit slot (%s)", type(exc).__name__)


async def admit_call(settings: Settings, ctx: ServerRequestContext[Any, Any], target: Target) -> Admission:
    """Take the call's place within the limits of its endpoint or toolkit and of its token.

    Over a limit this raises an MCP error (code LIMIT_EXCEEDED) whose message names the limit and when to
    retry, with the same in `data`. If the limit store cannot be reached the call is let through (and
    logged): limits protect capacity, they must not take the service down with them.
    """
    bearer = bearer_of(ctx)
    scopes = limit_scopes(settings, target, bearer)
    limiter = get_limiter(settings.limits_backend_url, settings.deployment_key())
    ticket = new_ticket()
    record = {
        "access": bearer.access if bearer is not None else "url",
        "token_id": bearer.id if bearer is not None else None,
        "token_name": bearer.name if bearer is not None else None,
    }
    try:
        await limiter.acquire(scopes, ticket, settings.call_timeout_seconds + 60)
    except LimitExceeded as exc:
        raise MCPError(LIMIT_EXCEEDED, str(exc), exc.data()) from None
    except Exception as exc:
        logger.warning("call limits could not be checked (%s); letting the call through", type(exc).__name__)
        return Admission(record)
    return Admission(record, functools.partial(limiter.release, scopes, ticket))


def _challenge(error: str, message: str, resource_metadata: str) -> str:
    description = message.replace('"', "'").replace("\\", "")
    params = ['realm="toolpress"', f'resource_metadata="{resource_metadata}"']
    if error:
        params.append(f'error="{error}"')
    params.append(f'error_description="{description}"')
    return "Bearer " + ", ".join(params)


def _unauthorized(exc: TokenRejected, resource_metadata: str) -> JSONResponse:
    return JSONResponse(
        {"error": exc.error or "invalid_token", "detail": str(exc)},
        status_code=401,
        headers={"WWW-Authenticate": _challenge(exc.error, str(exc), resource_metadata)},
    )


NOT_FOUND = JSONResponse({"detail": "Not Found"}, status_code=404)


@dataclass(frozen=True)
class _Watch:
    kind: str
    target_id: int
    credential: str  # the bearer's limit key: "token:{id}" or "oauth:{family}"

    def key(self) -> str:
        return f"{BEARER_WATCH_PREFIX}{self.kind}:{self.target_id}:{self.credential}"

    @classmethod
    def parse(cls, key: str) -> _Watch | None:
        try:
            kind, target_id, credential = key[len(BEARER_WATCH_PREFIX) :].split(":", 2)
            return cls(kind, int(target_id), credential)
        except ValueError:
            return None


def _resolve(session: Any, kind: str, target_id: int) -> Target | None:
    if kind == "toolkit":
        return resolve_toolkit(session=session, toolkit_id=target_id)
    return resolve_endpoint(session=session, endpoint_id=target_id)


def bearer_target(settings: Settings, key: str) -> Target | None:
    """What a GET stream opened through the bearer way in serves now; None once the credential or server is gone."""
    watch = _Watch.parse(key)
    if watch is None:
        return None
    with session_scope(settings.sqlalchemy_url) as session:
        kind, _, ident = watch.credential.partition(":")
        if kind == "token":
            if not token_is_active(session=session, token_id=int(ident)):
                return None
        elif not family_is_live(session=session, family=ident):
            return None
        return _resolve(session, watch.kind, watch.target_id)


class BearerRoute:
    """ASGI app for `/mcp/e/{target_id}` (kind "app") or `/mcp/t/{target_id}` (kind "toolkit")."""

    def __init__(self, endpoint: McpEndpointApp, kind: Literal["app", "toolkit"]) -> None:
        self._endpoint = endpoint
        self._kind = kind

    def _authorize(self, target_id: int, header: str | None) -> tuple[Target | None, Bearer]:
        settings = self._endpoint.settings
        with session_scope(settings.sqlalchemy_url) as session:
            value = split_authorization(header)
            if value.startswith(TOKEN_PREFIX):
                ids = {"toolkit_id": target_id} if self._kind == "toolkit" else {"endpoint_id": target_id}
                bearer = authenticate(session=session, presented=header, **ids)
            else:
                bearer = self._oauth(session, value, target_id)
            return _resolve(session, self._kind, target_id), bearer

    def _oauth(self, session: Any, value: str, target_id: int) -> Bearer:
        if len(value) > 200:
            raise TokenRejected("the token is not valid for this MCP server")
        found = authenticate_access_token(session=session, token=value, ref=ResourceRef(self._kind, target_id))
        if found is None:
            raise TokenRejected("the token is not valid for this MCP server")  # OAuth clients refresh on this
        return Bearer(None, found.client_name, None, None, access="oauth", limit_key=f"oauth:{found.family}")

    def _challenge_for(self, target_id: str, exc: TokenRejected) -> JSONResponse:
        base = self._endpoint.settings.base_url.rstrip("/")
        letter = "t" if self._kind == "toolkit" else "e"
        metadata = f"{base}/.well-known/oauth-protected-resource/mcp/{letter}/{target_id}/mcp"
        return _unauthorized(exc, metadata)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("path_params", {}).get("target_id", "")
        if not raw.isdigit() or len(raw) > 18:
            await NOT_FOUND(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        try:
            target, bearer = await anyio.to_thread.run_sync(self._authorize, int(raw), header)
        except TokenRejected as exc:
            await self._challenge_for(raw, exc)(scope, receive, send)
            return
        if target is None:
            await NOT_FOUND(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[ACCESS_STATE_KEY] = bearer
        # GET streams are watched under this key: they close when the token or the server goes away.
        scope["path_params"] = {**scope.get("path_params", {}), "secret": _Watch(self._kind, int(raw), bearer.limit_key).key()}
        await self._endpoint.serve_target(scope, receive, send, target)


class limit_body:  # noqa: N801 (used like a function: limit_body(app, max_bytes))
    """Wrap an MCP route so an oversized body gets 413 with a JSON-RPC error stating the limit.

    A class, not a closure: Starlette hands a plain function a Request instead of the raw ASGI call.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        message = f"Request body too large: this MCP server accepts at most {max_bytes} bytes per request"
        error = {"jsonrpc": "2.0", "id": None, "error": {"code": types.INVALID_REQUEST, "message": message}}
        self._body = json.dumps(error).encode()
        self._max = max_bytes

    async def _refuse(self, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": self._body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self._max:
            await self._refuse(send)
            return
        replaced = False

        async def rewrite(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                replaced = True
                await self._refuse(send)
            elif not replaced:
                await send(message)

        await self._app(scope, receive, rewrite)
