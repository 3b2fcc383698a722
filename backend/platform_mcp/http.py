"""The `/mcp/platform` route: a user API token (or an OAuth access token granted for the platform server) in, then
the SDK's stateless Streamable HTTP transport. A read-only API token, like the read-only header, hides every tool
that changes anything."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

import mcp_types as types
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.mcp.oauth import oauth_available
from backend.platform_mcp.server import Caller, build_server
from backend.models.account import API
from backend.services import credentials, oauth

PATHS = ("/mcp/platform/mcp", "/mcp/platform")
READ_ONLY_HEADER = "x-toolpress-read-only"
READ_ONLY_QUERY = "read_only"
CALLER_STATE_KEY = "toolpress_platform_caller"
_TRUE = {"1", "true", "yes", "on"}


def _security(settings: Settings) -> TransportSecuritySettings:
    """Host/Origin checks: loopback, the public URL and the configured extra hosts and origins."""
    public = urlsplit(settings.base_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, *settings.allowed_hosts]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", f"{public.scheme}://{public.netloc}"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=[*origins, *settings.allowed_origins]
    )


def read_only_requested(scope: Scope) -> bool:
    """True when the request asks for read-only mode (header `X-Toolpress-Read-Only` or `?read_only=`)."""
    header = next((v.decode("latin-1") for k, v in scope["headers"] if k == READ_ONLY_HEADER.encode()), "")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(READ_ONLY_QUERY, [""])[-1]
    return header.strip().lower() in _TRUE or query.strip().lower() in _TRUE


def _bearer(scope: Scope) -> str | None:
    value = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def caller_of_request(ctx: ServerRequestContext[Any, Any]) -> Caller:
    """The caller the route authenticated (put into the request state before the SDK saw the request)."""
    caller = getattr(getattr(ctx.request, "state", None), CALLER_STATE_KEY, None)
    if caller is None:
        raise MCPError(types.INVALID_REQUEST, "not authenticated")
    return caller


class PlatformMcpApp:
    """ASGI app for the platform server's routes: authenticates the user, then hands the request to the SDK."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.oauth = oauth_available(settings)  # a 401 then names the resource metadata, for OAuth clients
        self.server = build_server(settings, caller_of_request)
        self.manager = StreamableHTTPSessionManager(
            app=self.server,
            stateless=True,
            json_response=False,
            security_settings=_security(settings),
            max_request_body_size=settings.max_request_bytes,
        )

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the SDK's session manager (once per process)."""
        async with self.manager.run():
            yield

    def _caller(self, token: str, read_only: bool) -> Caller | None:
        """The user behind an API token (read-only if the token or the request says so) or a platform OAuth token."""
        with session_scope(self.settings.sqlalchemy_url) as session:
            found = credentials.authenticate(session=session, presented=token, kind=API)
            if found is not None:
                return Caller(user_id=found.user.id, read_only=read_only or found.read_only)  # type: ignore[arg-type]
            bearer = oauth.authenticate_access_token(session=session, token=token, ref=oauth.PLATFORM)
            return Caller(user_id=bearer.owner_id, read_only=read_only) if bearer is not None else None

    def _unauthorized(self, given: bool) -> JSONResponse:
        challenge = 'Bearer realm="toolpress"' + (', error="invalid_token"' if given else "")
        if self.oauth:
            metadata = f"{self.settings.base_url.rstrip('/')}/.well-known/oauth-protected-resource/mcp/platform/mcp"
            challenge += f', resource_metadata="{metadata}"'
        detail = "invalid or expired access token" if given else "an access token is required (Authorization: Bearer <token>)"
        return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": challenge})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _bearer(scope)
        caller = await anyio.to_thread.run_sync(self._caller, token, read_only_requested(scope)) if token else None
        if caller is None:
            await self._unauthorized(token is not None)(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER_STATE_KEY] = caller
        await self.manager.handle_request(scope, receive, send)
