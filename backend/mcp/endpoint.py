"""The `/mcp/{secret}` route: secret → app lookup, then the SDK's Streamable HTTP transport."""

from __future__ import annotations

import contextlib
import contextvars
from functools import partial
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from backend.core import loop_reads
from backend.core.db import session_scope
from backend.core.settings import Settings
from backend.core.statements import Statements
from backend.mcp import cancellation
from backend.mcp.access import BEARER_WATCH_PREFIX, bearer_target
from backend.mcp.changes import Fingerprint, fingerprint_of
from backend.mcp.completions import build_completion_handlers
from backend.mcp.exchange import Exchanges
from backend.mcp.handlers import TARGET_STATE_KEY, build_handlers, install_logging, result_of, target_of
from backend.mcp.prompts import build_prompt_handlers
from backend.mcp.questions import take_responses
from backend.mcp.replay import Replay, wants_replay
from backend.mcp.resumable import resumable_session, serve_resumable
from backend.mcp.resources import build_resource_handlers
from backend.mcp.legacy_sse import LegacySse
from backend.mcp.sessions import with_session
from backend.mcp.streams import ListenStreams, StreamWatcher
from backend.mcp.tasks import Tasks
from backend.mcp.tracing import span_only_when_tracing
from backend.services import subscriptions
from backend.services.catalog import catalog_of
from backend.services.endpoints import EndpointTarget, resolve_secret
from backend.services.toolkits import ToolkitTarget, resolve_toolkit_secret

NOT_FOUND = JSONResponse({"detail": "Not Found"}, status_code=404)


def _security(settings: Settings) -> TransportSecuritySettings:
    public = urlsplit(settings.base_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, *settings.allowed_hosts]
    origins = [
        "http://127.0.0.1:*",
        "http://localhost:*",
        "http://[::1]:*",
        f"{public.scheme}://{public.netloc}",
        *settings.allowed_origins,
    ]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


# The target of the request being served: capabilities are declared per URL (see _Server.get_capabilities).
_SERVED: contextvars.ContextVar[EndpointTarget | ToolkitTarget | None] = contextvars.ContextVar("toolpress_served", default=None)


class _Server(Server):
    """The low-level server, advertising list changes to handshake clients (sent on their GET stream).

    Prompts, resources and completions are declared only when the URL serves prompts or resources.
    """

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True, prompts_changed=True, resources_changed=True),
            experimental_capabilities,
            extensions,
        )

    def get_capabilities(self, *args: Any, **kwargs: Any) -> types.ServerCapabilities:
        capabilities = super().get_capabilities(*args, **kwargs)
        target = _SERVED.get()
        catalog = catalog_of(target) if target is not None else None
        has_prompts = catalog is not None and catalog.has_prompts
        has_resources = catalog is not None and catalog.has_resources
        return capabilities.model_copy(update={
            "prompts": capabilities.prompts if has_prompts else None,
            "resources": capabilities.resources if has_resources else None,
            "completions": capabilities.completions if has_prompts or has_resources else None,
        })


def _served_kinds(ctx: ServerRequestContext[Any, Any]) -> tuple[bool, bool]:
    catalog = catalog_of(target_of(ctx))
    return catalog.has_prompts, catalog.has_resources


class McpEndpointApp:
    """ASGI app for one route: resolves the URL secret, then hands the request to the SDK."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tasks = Tasks(settings, target_of, result_of)
        self.server: Server = _Server(
            "toolpress",
            version="0.1.0",
            **build_handlers(settings, self.tasks),
            **build_prompt_handlers(settings),
            **build_resource_handlers(settings),
            **build_completion_handlers(settings),
        )
        self.tasks.install(self.server)
        span_only_when_tracing(self.server)
        install_logging(self.server, settings)
        self._on_cancelled = cancellation.relay(settings)
        security = _security(settings)
        self.manager = StreamableHTTPSessionManager(
            app=self.server,
            stateless=True,
            json_response=False,
            security_settings=security,
            max_request_body_size=settings.max_request_bytes,
        )
        self._key = settings.signing_key()
        self.streams = StreamWatcher(self._fingerprint, TransportSecurityMiddleware(security), self._subscriptions)
        self.replay = Replay(settings, self._key, TransportSecurityMiddleware(security))
        self.exchanges = Exchanges(settings, self._key, self.server, TransportSecurityMiddleware(security))
        listen = ListenStreams(self.streams, _served_kinds)
        self.server.add_request_handler("subscriptions/listen", types.SubscriptionsListenRequestParams, listen)
        self.legacy = LegacySse(
            self.server,
            security,
            settings.max_request_bytes,
            self.streams,
            key=self._key,
            bus_url=settings.events_backend_url,
            resolve=self.resolve,
        )
        self.legacy_sse = _LegacyRoute(self, "stream")
        self.legacy_messages = _LegacyRoute(self, "message")

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the SDK's session manager and the server's lifespan (once per process)."""
        # Exchanges run the server as the manager does, given a lifespan state: the default lifespan's, which holds nothing
        async with self.manager.run(), self.server.lifespan(self.server) as state, self.streams.running():
            self.exchanges.lifespan_state = state
            yield

    def _lookup(self, db: Statements, secret: str) -> EndpointTarget | ToolkitTarget | None:
        found = resolve_secret(db=db, settings=self.settings, secret=secret)
        return found or resolve_toolkit_secret(session=db.session, settings=self.settings, secret=secret)

    def _resolve(self, secret: str) -> EndpointTarget | ToolkitTarget | None:
        """What the URL secret serves (an app or a toolkit), or None; a read, so a dead pooled connection is retried."""
        return loop_reads.read_on_thread(self.settings.sqlalchemy_url, partial(self._lookup, secret=secret))

    async def resolve(self, secret: str) -> EndpointTarget | ToolkitTarget | None:
        """`_resolve` from the event loop: inline for a local SQLite file, else on a thread (backend.core.loop_reads)."""
        return await loop_reads.read(self.settings.sqlalchemy_url, partial(self._lookup, secret=secret))

    def _fingerprint(self, secret: str) -> Fingerprint | None:
        """What the URL (or a bearer stream's key) serves now, as digests; None when it serves nothing."""
        if secret.startswith(BEARER_WATCH_PREFIX):  # a stream opened through the bearer way in
            target = bearer_target(self.settings, secret)
        else:
            target = self._resolve(secret)
        return fingerprint_of(target) if target is not None else None

    def _subscriptions(self, session_keys: list[str]) -> dict[str, set[str]]:
        with session_scope(self.settings.sqlalchemy_url) as session:
            return subscriptions.subscribed_uris(session=session, session_keys=session_keys)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET with Last-Event-ID resumes a call's stream; other GETs (handshake generations) open Toolpress's bound
        stream; a session's POST of one request is served as an exchange (backend.mcp.exchange); another POST in a
        session that can resume gets a resumable stream; everything else goes to the SDK."""
        if wants_replay(scope):
            await self.replay.serve(scope, receive, send)
            return
        version = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"mcp-protocol-version"), None)
        if scope["method"] == "GET" and (version is None or version in HANDSHAKE_PROTOCOL_VERSIONS):
            await self.streams.serve(scope, receive, send, secret=scope["path_params"]["secret"])
            return
        if (body := self.exchanges.takes(scope)) is not None:
            await self.exchanges.serve(body, scope, receive, send)
            return
        session = resumable_session(scope)
        if session is not None:
            await serve_resumable(self.settings, self._key, session, scope, receive, send, self.manager.handle_request)
            return
        await self.manager.handle_request(scope, receive, send)

    async def resolve_into(self, scope: Scope, receive: Receive, send: Send) -> EndpointTarget | ToolkitTarget | None:
        """Resolve the URL secret and put the target into the request state; answer 404 when it serves nothing."""
        secret = scope.get("path_params", {}).get("secret", "")
        target = await self.resolve(secret)
        if target is None:
            await NOT_FOUND(scope, receive, send)
            return None
        scope.setdefault("state", {})[TARGET_STATE_KEY] = target
        return target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = await self.resolve_into(scope, receive, send)
        if target is None:
            return
        await self.serve_target(scope, receive, send, target)

    async def serve_target(
        self, scope: Scope, receive: Receive, send: Send, target: EndpointTarget | ToolkitTarget
    ) -> None:
        """Serve a request whose target is known (by URL secret here, by token in backend.mcp.access)."""
        scope.setdefault("state", {})[TARGET_STATE_KEY] = target
        _SERVED.set(target)
        await with_session(
            scope,
            receive,
            send,
            key=self._key,
            target=target,
            max_body=self.settings.max_request_bytes,
            app=self._dispatch,
            on_cancelled=self._on_cancelled,
            on_responses=partial(take_responses, self.settings),
        )


class _LegacyRoute:
    """ASGI app for `/mcp/{secret}/sse` (GET) or `/mcp/{secret}/messages` (POST): the legacy SSE transport."""

    def __init__(self, endpoint: McpEndpointApp, kind: str) -> None:
        self._endpoint = endpoint
        self._kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = await self._endpoint.resolve_into(scope, receive, send)
        if target is None:
            return
        handler = self._endpoint.legacy.stream if self._kind == "stream" else self._endpoint.legacy.message
        _SERVED.set(target)
        await handler(scope, receive, send, secret=scope["path_params"]["secret"], target=target)
