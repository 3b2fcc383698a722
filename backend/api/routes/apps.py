"""Apps: CRUD, export, publish and versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response, status

from backend import crud
from backend.api.deps import MAX_ID, CurrentUser, OwnedApp, SessionDep
from backend.api.responses import errors
from backend.models import AppCreate, AppPublic, AppsPublic, AppUpdate, AppVersionPublic
from backend.services import apps as app_service

router = APIRouter(prefix="/apps", tags=["apps"], responses=errors(401, 422))


@router.get("", response_model=AppsPublic)
def list_apps(
    session: SessionDep, user: CurrentUser, skip: int = Query(0, ge=0, le=MAX_ID), limit: int = Query(100, ge=1, le=500)
) -> AppsPublic:
    """Your apps."""
    rows, count = crud.list_apps(session=session, owner_id=user.id, skip=skip, limit=limit)
    return AppsPublic(data=[app_service.app_public(session=session, app=a) for a in rows], count=count)


@router.post("", response_model=AppPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 409, 413, spec=True))
def create_app(body: AppCreate, session: SessionDep, user: CurrentUser) -> AppPublic:
    """Create an app from a spec (JSON) or YAML text."""
    spec = app_service.parse_spec(spec=body.spec, text=body.yaml)
    app = app_service.create_app(session=session, owner=user, spec=spec)
    return app_service.app_public(session=session, app=app)


@router.get("/{app_id}", response_model=AppPublic, responses=errors(404))
def get_app(app: OwnedApp, session: SessionDep) -> AppPublic:
    """One app."""
    return app_service.app_public(session=session, app=app)


@router.patch("/{app_id}", response_model=AppPublic, responses=errors(400, 404, 409, 413, spec=True))
def update_app(body: AppUpdate, app: OwnedApp, session: SessionDep) -> AppPublic:
    """Replace the app's draft spec."""
    fields = body.model_dump(exclude_unset=True)
    if fields:
        spec = app_service.parse_spec(spec=fields.get("spec"), text=fields.get("yaml"))
        app = app_service.update_draft(session=session, app=app, spec=spec)
    return app_service.app_public(session=session, app=app)


@router.delete("/{app_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_app(app: OwnedApp, session: SessionDep) -> Response:
    """Delete the app with its versions, MCP endpoint and runs."""
    crud.delete_app(session=session, app=app)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{app_id}/export", response_class=Response, responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}, **errors(404)})
def export_app(app: OwnedApp) -> Response:
    """The app's draft as YAML."""
    return Response(app_service.export_yaml(app), media_type="application/yaml")


@router.get("/{app_id}/schema", responses=errors(404))
def app_schema(app: OwnedApp) -> dict[str, Any]:
    """The tool exactly as MCP clients will see it (from the draft)."""
    info = app_service.describe_tool(app_service.load_spec_of(app.spec))
    return {
        "name": info.name,
        "title": info.title,
        "description": info.description,
        "inputSchema": info.input_schema,
        "outputSchema": info.output_schema,
        "annotations": info.annotations,
    }


@router.post("/{app_id}/publish", response_model=AppVersionPublic, status_code=status.HTTP_201_CREATED,
             responses=errors(404, 409, spec=True))
def publish_app(app: OwnedApp, session: SessionDep) -> AppVersionPublic:
    """Publish the draft as a new immutable version."""
    return app_service.version_public(app_service.publish_app(session=session, app=app))


@router.get("/{app_id}/versions", response_model=list[AppVersionPublic], responses=errors(404))
def list_versions(app: OwnedApp, session: SessionDep) -> list[AppVersionPublic]:
    """Published versions, newest first."""
    return [app_service.version_public(v) for v in crud.list_versions(session=session, app_id=app.id)]
