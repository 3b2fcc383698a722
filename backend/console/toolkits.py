"""Toolkits in the console: list and create, then a toolkit's page with its apps and the same MCP server panel
as an app's (switch, masked URL with reveal and copy, client snippets, regenerate behind a confirmation)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.console import flash
from backend.console.app_pages import bearer_snippets
from backend.console.auth import ConsoleUser, CsrfChecked, csrf_token
from backend.console.clients import snippets
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.core.settings import Settings
from backend.models import App, Toolkit, ToolkitCreate, ToolkitUpdate, User
from backend.services import NotFound, ServiceError, toolkits

__all__ = ["OwnedConsoleToolkit", "router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

URL_PLACEHOLDER = "__MCP_URL__"
_NOTICES = {
    "created": "Toolkit created. Turn its MCP server on to get a URL.",
    "saved": "Toolkit saved. Connected clients are told that its tools changed.",
    "enabled": "MCP server turned on.",
    "disabled": "MCP server turned off. Its URL and tokens answer 404 until you turn it on again.",
    "deleted": "Toolkit deleted. Its URL and tokens stopped working.",
}


def owned_toolkit(toolkit_id: int, session: SessionDep, user: ConsoleUser) -> Toolkit:
    """The user's toolkit with this id; the 404 page for a missing toolkit and for another user's alike."""
    try:
        return toolkits.get_toolkit(session=session, owner_id=user.id, toolkit_id=toolkit_id)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None


OwnedConsoleToolkit = Annotated[Toolkit, Depends(owned_toolkit)]


def _published_apps(session: Session, user: User) -> list[App]:
    rows, _ = crud.list_apps(session=session, owner_id=user.id, limit=500)
    return [a for a in rows if a.published_version_id is not None]


async def _form(request: Request) -> tuple[str, str, list[int]]:
    form = await request.form()
    ids = [int(v) for v in form.getlist("app_ids") if str(v).isdigit()]
    return str(form.get("name", "")).strip(), str(form.get("description", "")).strip(), ids


def _list_page(request: Request, session: Session, settings: Settings, user: User, *, error: str | None = None,
               submitted: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    rows = toolkits.list_toolkits(session=session, owner_id=user.id)  # type: ignore[arg-type]
    return render(
        request, "toolkits.html", status_code=status_code, user=user, error=error, submitted=submitted or {},
        toolkits=[toolkits.toolkit_public(session=session, settings=settings, toolkit=t) for t in rows],
        apps=_published_apps(session, user), notice=_NOTICES.get(request.query_params.get("notice", "")),
        csrf_token=csrf_token(request, settings),
    )


def _toolkit_page(request: Request, session: Session, settings: Settings, user: User, toolkit: Toolkit, *,
                  revealed_url: str | None = None, error: str | None = None, status_code: int = 200) -> Response:
    view = toolkits.toolkit_public(session=session, settings=settings, toolkit=toolkit)
    name = toolkits.server_name(toolkit)
    templates = snippets(name, URL_PLACEHOLDER)
    for item in templates:
        item["shown"] = item["text"].replace(URL_PLACEHOLDER, revealed_url or view.masked_url)
    served = [t for t in view.tools if t.published]
    response = render(
        request, "toolkit.html", status_code=status_code, user=user, toolkit=view, apps=_published_apps(session, user),
        chosen={t.app_id for t in view.tools}, error=error, notice=_NOTICES.get(request.query_params.get("notice", "")),
        endpoint=view, revealed_url=revealed_url, snippets=templates, placeholder=URL_PLACEHOLDER, server_name=name,
        not_ready=None if served else "Add at least one published app: a toolkit serves one tool per app.",
        bearer_snippets=bearer_snippets(settings, session, name, toolkit=toolkit),
        csrf_token=csrf_token(request, settings),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _back_to(toolkit: Toolkit, notice: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/toolkits/{toolkit.id}?notice={notice}{anchor}", status_code=303)


@router.get("/toolkits")
def toolkits_page(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Your toolkits, and a form to make one from your published apps."""
    return _list_page(request, session, settings, user)


@router.post("/toolkits", dependencies=[CsrfChecked])
async def create(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Create a toolkit (switched off) from the chosen apps."""
    name, description, ids = await _form(request)
    submitted = {"name": name, "description": description, "app_ids": ids}
    try:
        body = ToolkitCreate(name=name, description=description or None, app_ids=ids)
        toolkit = toolkits.create_toolkit(session=session, settings=settings, owner_id=user.id, body=body)  # type: ignore[arg-type]
    except ValidationError as exc:  # a missing or over-long name or description
        return _list_page(request, session, settings, user, error=f"The toolkit was not created: {_first(exc)}.",
                          submitted=submitted, status_code=422)
    except ServiceError as exc:
        return _list_page(request, session, settings, user, error=f"The toolkit was not created: {exc}.",
                          submitted=submitted, status_code=409)
    return _back_to(toolkit, "created")


def _first(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


@router.get("/toolkits/{toolkit_id}")
def toolkit_page(request: Request, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep,
                 user: ConsoleUser) -> Response:
    """A toolkit: its tools, its apps, and its MCP server panel (the new URL shown after a regenerate)."""
    note = flash.take(request, settings)
    revealed = toolkits.toolkit_url(settings=settings, toolkit=toolkit) if note and note.get("regenerated") else None
    response = _toolkit_page(request, session, settings, user, toolkit, revealed_url=revealed)
    if note is not None:
        flash.forget(response, request)
    return response


@router.post("/toolkits/{toolkit_id}", dependencies=[CsrfChecked])
async def save(request: Request, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep,
               user: ConsoleUser) -> Response:
    """Rename it or change its apps; apps that stay keep their tool names."""
    name, description, ids = await _form(request)
    try:
        body = ToolkitUpdate(name=name, description=description or None, app_ids=ids)
        toolkits.update_toolkit(session=session, toolkit=toolkit, body=body)
    except ValidationError as exc:
        return _toolkit_page(request, session, settings, user, toolkit, error=f"Not saved: {_first(exc)}.", status_code=422)
    except ServiceError as exc:
        session.rollback()
        return _toolkit_page(request, session, settings, user, toolkit, error=f"Not saved: {exc}.", status_code=409)
    return _back_to(toolkit, "saved")


@router.post("/toolkits/{toolkit_id}/delete", dependencies=[CsrfChecked])
def delete(toolkit: OwnedConsoleToolkit, session: SessionDep) -> Response:
    """Delete the toolkit and its tokens (the apps stay)."""
    toolkits.delete_toolkit(session=session, toolkit=toolkit)
    return RedirectResponse("/toolkits?notice=deleted", status_code=303)


@router.post("/toolkits/{toolkit_id}/mcp/enable", dependencies=[CsrfChecked])
def enable_mcp(toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep) -> Response:
    """Turn the toolkit's MCP server on."""
    toolkits.set_toolkit_enabled(session=session, settings=settings, toolkit=toolkit, enabled=True)
    return _back_to(toolkit, "enabled", "#mcp-panel")


@router.post("/toolkits/{toolkit_id}/mcp/disable", dependencies=[CsrfChecked])
def disable_mcp(toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep) -> Response:
    """Turn the toolkit's MCP server off."""
    toolkits.set_toolkit_enabled(session=session, settings=settings, toolkit=toolkit, enabled=False)
    return _back_to(toolkit, "disabled", "#mcp-panel")


@router.post("/toolkits/{toolkit_id}/mcp/regenerate", dependencies=[CsrfChecked])
def regenerate_mcp(request: Request, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep) -> Response:
    """A new secret URL (the old one answers 404 from now on; tokens keep working), then shown on the toolkit's page."""
    toolkits.regenerate_toolkit(session=session, settings=settings, toolkit=toolkit)
    return flash.redirect_with(request, settings, f"/toolkits/{toolkit.id}", {"regenerated": True}, "#mcp-panel")


@router.get("/toolkits/{toolkit_id}/mcp/url")
def reveal_url(toolkit: OwnedConsoleToolkit, settings: SettingsDep) -> Response:
    """The full MCP URL for the Reveal button (owner only, never cached)."""
    return JSONResponse({"url": toolkits.toolkit_url(settings=settings, toolkit=toolkit)}, headers={"Cache-Control": "no-store"})
