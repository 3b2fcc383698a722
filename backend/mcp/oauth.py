"""OAuth 2.1 routes for MCP clients: the SDK's authorization-server handlers and per-endpoint resource metadata.

`/.well-known/oauth-authorization-server`, `/authorize`, `/token`, `/register` and `/revoke` come from
`mcp.server.auth` over `ToolpressOAuthProvider`. Each bearer URL (`/mcp/e/{id}/mcp`, `/mcp/t/{id}/mcp`) has
its protected-resource metadata (RFC 9728) at `/.well-known/oauth-protected-resource/mcp/e/{id}/mcp`, which a
401 from that URL points to; so has the platform server (`/mcp/platform/mcp`). OAuth needs an https public URL
(or a loopback one, for local use).
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.auth.routes import create_auth_routes, validate_issuer_url
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from backend.core.settings import Settings
from backend.services.oauth import PLATFORM, SCOPE, ResourceRef, ToolpressOAuthProvider, resource_url

logger = logging.getLogger(__name__)


def _metadata(settings: Settings, issuer: str, ref: ResourceRef, name: str) -> dict[str, Any]:
    """Protected-resource metadata (RFC 9728) of an endpoint, toolkit or the platform server."""
    return {
        "resource": resource_url(settings, ref),
        "authorization_servers": [issuer],  # exactly the issuer the metadata names
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": name,
    }


def oauth_available(settings: Settings) -> bool:
    """Whether the public URL can be an OAuth issuer (https, or http on loopback)."""
    try:
        validate_issuer_url(AnyHttpUrl(settings.base_url))
    except ValueError:
        return False
    return True


def oauth_routes(settings: Settings) -> list[Route]:
    """The OAuth routes, or none when the public URL cannot be an issuer (plain http off loopback)."""
    issuer = AnyHttpUrl(settings.base_url)
    try:
        validate_issuer_url(issuer)
    except ValueError as exc:
        logger.warning("OAuth for MCP is off: %s (TOOLPRESS_PUBLIC_URL)", exc)
        return []
    routes = create_auth_routes(
        ToolpressOAuthProvider(settings),
        issuer_url=issuer,
        client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]),
        revocation_options=RevocationOptions(enabled=True),
    )

    async def resource_metadata(request: Request) -> JSONResponse:
        raw = request.path_params["target_id"]
        if request.path_params["kind"] not in ("e", "t") or not raw.isdigit() or len(raw) > 18:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        ref = ResourceRef("toolkit" if request.path_params["kind"] == "t" else "app", int(raw))
        return JSONResponse(_metadata(settings, str(issuer), ref, "Toolpress MCP server"), headers={"Cache-Control": "no-store"})

    async def platform_metadata(request: Request) -> JSONResponse:
        return JSONResponse(_metadata(settings, str(issuer), PLATFORM, "Toolpress platform MCP server"),
                            headers={"Cache-Control": "no-store"})

    for suffix in ("/mcp", ""):
        routes.append(Route("/.well-known/oauth-protected-resource/mcp/platform" + suffix, endpoint=platform_metadata,
                            methods=["GET"]))
    for suffix in ("/mcp", ""):
        path = "/.well-known/oauth-protected-resource/mcp/{kind:str}/{target_id}" + suffix
        routes.append(Route(path, endpoint=resource_metadata, methods=["GET"]))
    return routes
