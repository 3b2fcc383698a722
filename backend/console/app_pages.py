"""An app's overview: publish, versions and rollback, usage, and the MCP server panel."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlmodel import Session

import workflows
from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.console import flash
from backend.console.auth import ConsoleUser, CsrfChecked, OwnedConsoleApp, csrf_token
from backend.console.clients import snippets
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.console.runs import usage_of
from backend.core.settings import Settings
from backend.models import App, User
from backend.services import InvalidSpec, ServiceError, apps, endpoints, tokens

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

URL_PLACEHOLDER = "__MCP_URL__"
TOKEN_PLACEHOLDER = "<token>"
_NOTICES = {
    "published": "Draft published.",
    "example-copied": "Copied from the examples: this app is yours. Try it with a test run, then publish it and switch "
    "its MCP server on.",
    "unchanged": "Nothing to publish: the draft is the published version. Edit it first.",
    "disabled": "MCP server turned off. Its URL answers 404 until you turn it on again (the URL stays the same).",
    "enabled": "MCP server turned on.",
    "rolled-back": "Rolled back: MCP clients now get the version marked live.",
    "restored": "The draft now holds that version's spec. Edit it, then publish.",
    "tool-saved": "Tool description saved to the draft. Publish to show it to MCP clients.",
    "tool-published": "Tool description saved and published.",
    "saved": "Draft saved.",
}
_ANNOTATIONS = (
    ("read_only", "Read-only", "It only looks things up and changes nothing."),
    ("destructive", "Destructive", "It may delete or overwrite data (clients ask before calling)."),
    ("idempotent", "Idempotent", "Calling it twice with the same arguments has no extra effect."),
    ("open_world", "Open world", "It reaches systems outside Toolpress (web APIs, models)."),
)
_NO_STORE = {"Cache-Control": "no-store"}


def bearer_snippets(settings: Settings, session: Session, name: str, **owner: Any) -> list[dict[str, str]]:
    """Snippets for the token URL with a token placeholder, when the endpoint or toolkit (`owner`) has a live token."""
    live = [t for t in tokens.list_tokens(session=session, **owner) if tokens.token_public(settings=settings, token=t).status == "active"]
    if not live:
        return []
    ids = {"endpoint_id": owner["endpoint"].id} if "endpoint" in owner else {"toolkit_id": owner["toolkit"].id}
    return snippets(name, tokens.bearer_url(settings=settings, **ids), TOKEN_PLACEHOLDER)


def _panel(settings: Settings, session: Session, app: App, tool_name: str, revealed_url: str | None) -> dict[str, Any]:
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
    view = endpoints.endpoint_public(settings=settings, endpoint=endpoint, reveal=False) if endpoint else None
    shown = revealed_url or (view.masked_url if view else "")
    templates = snippets(tool_name, URL_PLACEHOLDER)
    for item in templates:
        item["shown"] = item["text"].replace(URL_PLACEHOLDER, shown or "<turn the MCP server on to get a URL>")
    bearer = bearer_snippets(settings, session, tool_name, endpoint=endpoint) if endpoint else []
    return {"endpoint": view, "revealed_url": revealed_url, "snippets": templates, "placeholder": URL_PLACEHOLDER,
            "bearer_snippets": bearer}


def app_page(request: Request, session: Session, settings: Settings, user: User, app: App, *,
             revealed_url: str | None = None, error: str | None = None, errors: list[dict[str, Any]] | None = None,
             submitted: dict[str, str] | None = None, status_code: int = 200) -> Response:
    """Render the app overview."""
    version = apps.published_version(session=session, app=app)
    draft_spec = apps.load_spec_of(app.spec)
    live = apps.describe_tool(apps.load_spec_of(version.spec)) if version else None
    tool = live or apps.describe_tool(draft_spec)
    context = {
        "user": user,
        "app": app,
        "tab": "overview",
        "version": version,
        "versions": apps.list_versions(session=session, app=app),
        "draft_changed": version is not None and version.spec != app.spec,
        "tool": tool,
        "draft": draft_spec,
        "annotations": _ANNOTATIONS,
        "draft_annotations": (draft_spec.annotations.model_dump() if draft_spec.annotations else {}),
        "input_schema": json.dumps(tool.input_schema, indent=2, ensure_ascii=False),
        "output_schema": json.dumps(tool.output_schema, indent=2, ensure_ascii=False),
        "usage": usage_of(session=session, app=app),
        "notice": _NOTICES.get(request.query_params.get("notice", "")),
        "error": error,
        "tool_errors": {e["path"]: e["message"] for e in errors or []},
        "submitted": submitted,
        "csrf_token": csrf_token(request, settings),
        **_panel(settings, session, app, tool.name, revealed_url),
    }
    response = render(request, "app.html", status_code=status_code, **context)
    response.headers.update(_NO_STORE)
    return response


def _back_to(app: App, notice: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/apps/{app.id}?notice={notice}{anchor}", status_code=303)


@router.get("/apps/{app_id}")
def overview(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
             user: ConsoleUser) -> Response:
    """An app: its tool, versions, usage and MCP server panel (the new URL shown after a regenerate)."""
    note = flash.take(request, settings)
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id) if note else None
    revealed = endpoints.endpoint_url(settings=settings, endpoint=endpoint) if endpoint and note.get("regenerated") else None
    response = app_page(request, session, settings, user, app, revealed_url=revealed)
    if note is not None:
        flash.forget(response, request)
    return response


@router.post("/apps/{app_id}/publish", dependencies=[CsrfChecked])
def publish(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
            user: ConsoleUser) -> Response:
    """Publish the draft as a new version."""
    if apps.draft_is_published(session=session, app=app):
        return _back_to(app, "unchanged")
    try:
        apps.publish_app(session=session, app=app)
    except (ServiceError, workflows.SpecError) as exc:
        return app_page(request, session, settings, user, app, error=str(exc), status_code=409)
    return _back_to(app, "published")


@router.post("/apps/{app_id}/versions/{number}/rollback", dependencies=[CsrfChecked])
def rollback(request: Request, number: int, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
             user: ConsoleUser) -> Response:
    """Serve an earlier version again."""
    try:
        apps.rollback_app(session=session, app=app, number=number)
    except InvalidSpec as exc:  # saved under older rules: it must be fixed and published anew
        return app_page(request, session, settings, user, app, error=str(exc), status_code=409)
    except ServiceError:
        raise PageNotFound() from None
    return _back_to(app, "rolled-back", "#versions")


@router.post("/apps/{app_id}/versions/{number}/restore", dependencies=[CsrfChecked])
def restore(number: int, app: OwnedConsoleApp, session: SessionDep) -> Response:
    """Copy a version's spec into the draft."""
    try:
        apps.restore_draft(session=session, app=app, number=number)
    except ServiceError:
        raise PageNotFound() from None
    return _back_to(app, "restored", "#versions")


@router.post("/apps/{app_id}/tool", dependencies=[CsrfChecked])
async def save_tool(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
                    user: ConsoleUser) -> Response:
    """Save the tool's name, title, description, parameter descriptions and annotations to the draft."""
    form = await request.form()
    data = workflows.spec_to_dict(apps.load_spec_of(app.spec))

    def text(key: str) -> str | None:
        value = str(form.get(key, "")).strip()
        return value or None

    for key in ("tool_name", "title", "description"):
        data[key] = text(key)
    for field in data.get("inputs", []):
        field["description"] = text(f"param:{field['name']}")
    hints = {key: {"yes": True, "no": False}.get(str(form.get(f"ann:{key}", ""))) for key, _, _ in _ANNOTATIONS}
    data["annotations"] = {k: v for k, v in hints.items() if v is not None} or None
    clean = {k: v for k, v in data.items() if v is not None}
    clean["inputs"] = [{k: v for k, v in f.items() if v is not None} for f in data.get("inputs", [])]
    try:
        spec = apps.parse_spec(spec=clean)
        apps.update_draft(session=session, app=app, spec=spec)
        if form.get("action") == "publish":
            apps.publish_app(session=session, app=app)
            return _back_to(app, "tool-published", "#tool")
    except InvalidSpec as exc:
        kept = {str(k): str(v) for k, v in form.items() if k != "csrf_token"}
        return app_page(request, session, settings, user, app, errors=exc.errors, submitted=kept, status_code=422,
                        error="The tool description was not saved: fix the fields marked below.")
    except ServiceError as exc:
        return app_page(request, session, settings, user, app, error=f"{exc}.", status_code=409)
    return _back_to(app, "tool-saved", "#tool")


@router.post("/apps/{app_id}/mcp/enable", dependencies=[CsrfChecked])
def enable_mcp(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep,
               user: ConsoleUser) -> Response:
    """Turn the MCP server on (the app must be published)."""
    try:
        endpoints.enable_endpoint(session=session, settings=settings, app=app)
    except ServiceError as exc:
        return app_page(request, session, settings, user, app, error=str(exc), status_code=409)
    return _back_to(app, "enabled", "#mcp-panel")


@router.post("/apps/{app_id}/mcp/disable", dependencies=[CsrfChecked])
def disable_mcp(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep) -> Response:
    """Turn the MCP server off."""
    endpoints.disable_endpoint(session=session, settings=settings, app=app)
    return _back_to(app, "disabled", "#mcp-panel")


@router.post("/apps/{app_id}/mcp/regenerate", dependencies=[CsrfChecked])
def regenerate_mcp(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep) -> Response:
    """Give the MCP server a new URL (the old one answers 404 from now on), then show it on the app's page."""
    endpoints.regenerate_endpoint(session=session, settings=settings, app=app)
    return flash.redirect_with(request, settings, f"/apps/{app.id}", {"regenerated": True}, "#mcp-panel")


@router.get("/apps/{app_id}/mcp/url")
def reveal_url(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep) -> Response:
    """The full MCP URL for the Reveal button (owner only, never cached)."""
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
    if endpoint is None:
        raise PageNotFound()
    return JSONResponse({"url": endpoints.endpoint_url(settings=settings, endpoint=endpoint)}, headers=_NO_STORE)
