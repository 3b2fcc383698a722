"""The `/mcp/{secret}` route: secret → app lookup, then the SDK's Streamable HTTP transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import anyio
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.mcp.handlers import TARGET_STATE_KEY, build_handlers
from backend.services.endpoints import EndpointTarget, resolve_secret

NOT_FOUND = JSONResponse({"detail": "Not Found"}, status_code=404)


def _security(settings: Settings) -> TransportSecuritySettings:
    public = urlsplit(settings.public_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, *settings.allowed_hosts]
    origins = [
        "http://127.0.0.1:*",
        "http://localhost:*",
        "http://[::1]:*",
        f"{public.scheme}://{public.netloc}",
        *settings.allowed_origins,
    ]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class McpEndpointApp:
    """ASGI app for one route: resolves the URL secret, then hands the request to the SDK."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: Server = Server("toolpress", version="0.1.0", **build_handlers(settings))
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

    def _resolve(self, secret: str) -> EndpointTarget | None:
        with session_scope(self.settings.sqlalchemy_url) as session:
            return resolve_secret(session=session, settings=self.settings, secret=secret)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = scope.get("path_params", {}).get("secret", "")
        target = await anyio.to_thread.run_sync(self._resolve, secret)
        if target is None:
            await NOT_FOUND(scope, receive, send)
            return
        scope.setdefault("state", {})[TARGET_STATE_KEY] = target
        await self.manager.handle_request(scope, receive, send)
