"""An app's MCP server: status, enable, disable, regenerate."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import OwnedApp, SessionDep, SettingsDep
from backend.api.responses import errors
from backend.models import EndpointPublic
from backend.services import endpoints

router = APIRouter(prefix="/apps/{app_id}/mcp", tags=["mcp"], responses=errors(401, 404, 422))


@router.get("", response_model=EndpointPublic)
def get_endpoint(app: OwnedApp, session: SessionDep, settings: SettingsDep, reveal: bool = False) -> EndpointPublic:
    """The MCP server's state; the URL is masked unless `reveal=true`."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    return endpoints.endpoint_public(settings=settings, endpoint=endpoint, reveal=reveal)


@router.post("/enable", response_model=EndpointPublic, responses=errors(409))
def enable(app: OwnedApp, session: SessionDep, settings: SettingsDep) -> EndpointPublic:
    """Switch the MCP server on; the URL is the same as before it was disabled."""
    endpoint = endpoints.enable_endpoint(session=session, settings=settings, app=app)
    return endpoints.endpoint_public(settings=settings, endpoint=endpoint, reveal=True)


@router.post("/disable", response_model=EndpointPublic)
def disable(app: OwnedApp, session: SessionDep, settings: SettingsDep) -> EndpointPublic:
    """Switch the MCP server off; its URL answers 404."""
    endpoint = endpoints.disable_endpoint(session=session, settings=settings, app=app)
    return endpoints.endpoint_public(settings=settings, endpoint=endpoint)


@router.post("/regenerate", response_model=EndpointPublic)
def regenerate(app: OwnedApp, session: SessionDep, settings: SettingsDep) -> EndpointPublic:
    """Give the MCP server a new URL; the old one answers 404 from now on."""
    endpoint = endpoints.regenerate_endpoint(session=session, settings=settings, app=app)
    return endpoints.endpoint_public(settings=settings, endpoint=endpoint, reveal=True)
