"""The ASGI application: REST API, console and MCP endpoint in one process."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from backend.api import api_router
from backend.api.routes.ops import router as ops_router
from backend.console import console_router, static_mount
from backend.console.redirects import redirect_to_the_form_page
from backend.core.collector import settle_after_startup
from backend.core.db import DATABASE_UNAVAILABLE, UNAVAILABLE_ERRORS
from backend.core.logging import RedactingFilter
from backend.core.metrics import McpStreamCounter
from backend.core.settings import Settings, get_settings
from backend.core.telemetry import TELEMETRY
from backend.mcp import McpEndpointApp
from backend.platform_mcp import PATHS as PLATFORM_PATHS
from backend.platform_mcp import PlatformMcpApp
from backend.console.oauth import oauth_console_router
from backend.mcp.access import BearerRoute, limit_body
from backend.mcp.oauth import oauth_routes
from backend.services import Conflict, InvalidSpec, NotFound, QueueUnavailable, ServiceError

logger = logging.getLogger(__name__)


def _service_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidSpec):
        return JSONResponse({"detail": str(exc), "errors": exc.errors}, status_code=422)
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 503 if isinstance(exc, QueueUnavailable) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


def _database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    """503 while the database is down or restarting: a JSON-RPC error on MCP routes, `detail` elsewhere."""
    logger.warning("database unavailable: %s", type(exc).__name__)  # no path: MCP paths hold URL secrets
    if request.url.path.startswith("/mcp/"):
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": DATABASE_UNAVAILABLE}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"detail": DATABASE_UNAVAILABLE}, status_code=503, headers={"Retry-After": "5"})


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; an embedded worker starts with it when the broker is in memory."""
    settings = settings or get_settings()
    for name in ("uvicorn.access", "uvicorn.error"):  # whatever server runs us, its logs are scrubbed
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
    mcp_endpoint = McpEndpointApp(settings)
    platform_mcp = PlatformMcpApp(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.run_embedded_worker:
            from backend.worker.embedded import EmbeddedWorker
            from backend.worker.tasks import celery_app

            worker = EmbeddedWorker(celery_app, concurrency=settings.worker_concurrency)
            worker.start()
        try:
            async with mcp_endpoint.lifespan(), platform_mcp.lifespan():
                settle_after_startup()
                yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPIOffline(  # /docs and /redoc load their assets from this server (no CDN: they work offline)
        title="Toolpress",
        version="0.1.0",
        description="Publish low-code workflow apps as MCP servers.",
        lifespan=lifespan,
        telemetry=TELEMETRY,  # no spans of requests whose URL holds a secret
    )
    app.state.settings = settings
    app.add_exception_handler(ServiceError, _service_error_handler)
    app.add_exception_handler(StarletteHTTPException, redirect_to_the_form_page)
    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, _database_unavailable_handler)
    app.include_router(api_router)
    app.include_router(ops_router)
    app.add_middleware(McpStreamCounter)
    app.include_router(console_router)
    app.include_router(oauth_console_router)
    app.router.routes.extend(oauth_routes(settings))
    app.mount("/static", static_mount(), name="static")
    # the platform server's fixed paths first: "/mcp/{secret}/mcp" would match "/mcp/platform/mcp" too
    # The MCP routes go first: every agent call is one of them, and a router tries its routes in order
    # (matching the API and console routes first cost about 0.3 ms per MCP request). Among themselves,
    # the fixed paths come before /mcp/{secret}, which would also match "/mcp/platform" or "/mcp/e/…".
    mcp_routes = [Route(path, endpoint=platform_mcp, methods=["GET", "POST", "DELETE"]) for path in PLATFORM_PATHS]
    bounded = limit_body(mcp_endpoint, settings.max_request_bytes)
    by_token = {"e": BearerRoute(mcp_endpoint, "app"), "t": BearerRoute(mcp_endpoint, "toolkit")}
    for kind, route in by_token.items():
        for path in (f"/mcp/{kind}/{{target_id}}/mcp", f"/mcp/{kind}/{{target_id}}"):
            mcp_routes.append(Route(path, endpoint=limit_body(route, settings.max_request_bytes), methods=["GET", "POST", "DELETE"]))
    for path in ("/mcp/{secret}/mcp", "/mcp/{secret}"):
        mcp_routes.append(Route(path, endpoint=bounded, methods=["GET", "POST", "DELETE"]))
    mcp_routes.append(Route("/mcp/{secret}/sse", endpoint=mcp_endpoint.legacy_sse, methods=["GET"]))
    mcp_routes.append(Route("/mcp/{secret}/messages", endpoint=mcp_endpoint.legacy_messages, methods=["POST"]))
    app.router.routes[:0] = mcp_routes
    return app
