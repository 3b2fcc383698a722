"""Console pages: log-in, the app list, an app's page and its MCP server panel."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.staticfiles import StaticFiles

from backend import crud
from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import (
    ConsoleUser,
    CsrfChecked,
    OwnedConsoleApp,
    clear_session_cookie,
    anonymous_csrf,
    csrf_token,
    optional_user,
    remember_presession,
    safe_next,
    set_session_cookie,
)
from backend.console.render import FRONTEND_DIR, ConsoleRoute, PageNotFound, render
from backend.core.settings import Settings
from backend.core.throttle import login_throttle
from backend.models import App, User, UserCreate
from backend.services import ServiceError, apps, endpoints, users
from backend.services.errors import Conflict

__all__ = ["FRONTEND_DIR", "console_router", "static_mount"]

console_router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_NOTICES = {
    "published": "Draft published.",
    "disabled": "MCP server turned off. Its URL answers 404 until you turn it on again (the URL stays the same).",
    "enabled": "MCP server turned on.",
}
_BAD_LOGIN = "Wrong e-mail or password."
_NO_STORE = {"Cache-Control": "no-store"}
OptionalUser = Annotated[User | None, Depends(optional_user)]


def static_mount() -> StaticFiles:
    """Static files of the console."""
    return StaticFiles(directory=FRONTEND_DIR / "static")


def _auth_page(request: Request, settings: Settings, name: str, status_code: int = 200, **ctx: Any) -> Response:
    token, fresh = anonymous_csrf(request, settings)
    response = render(request, name, status_code=status_code, user=None, csrf_token=token, **ctx)
    if fresh:
        remember_presession(response, settings=settings, value=fresh)
    return response


def _signed_in(user: User, settings: Settings, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings=settings, token=users.issue_token(settings=settings, user=user, purpose="console"))
    return response


@console_router.get("/login")
def login_page(request: Request, settings: SettingsDep, user: OptionalUser, next: str = "/") -> Response:
    """The log-in form."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _auth_page(request, settings, "login.html", next=safe_next(next), email="")


@console_router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and set the session cookie."""
    key = login_throttle.key(email, request.client.host if request.client else None)
    wait = login_throttle.retry_after(key)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed log-ins for this account from your address. Try again in {minutes} min."
        response = _auth_page(request, settings, "login.html", 429, next=safe_next(next), email=email, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    user = users.authenticate(session=session, email=email.strip(), password=password) if email and password else None
    if user is None:
        login_throttle.failed(key)
        return _auth_page(request, settings, "login.html", 400, next=safe_next(next), email=email, error=_BAD_LOGIN)
    login_throttle.succeeded(key)
    return _signed_in(user, settings, safe_next(next))


@console_router.get("/signup")
def signup_page(request: Request, settings: SettingsDep, user: OptionalUser) -> Response:
    """The sign-up form."""
    if user is not None:
        return RedirectResponse("/", status_code=303)
    return _auth_page(request, settings, "signup.html", email="")


@console_router.post("/signup", dependencies=[CsrfChecked])
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Create an account and sign it in."""
    try:
        body = UserCreate(email=email.strip(), password=password)
    except ValidationError as exc:
        fields = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
        error = "Enter a valid e-mail address." if "email" in fields else "Use a password of at least 8 characters."
        return _auth_page(request, settings, "signup.html", 400, email=email, error=error)
    try:
        user = users.sign_up(session=session, email=str(body.email), password=body.password)
    except Conflict:
        error = "That account could not be created. If you already have one, log in instead."
        return _auth_page(request, settings, "signup.html", 409, email=email, error=error)
    return _signed_in(user, settings, "/")


@console_router.post("/logout", dependencies=[CsrfChecked])
def logout(settings: SettingsDep) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings=settings)
    return response


@console_router.get("/")
def home(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """The signed-in user's apps."""
    rows, _count = crud.list_apps(session=session, owner_id=user.id, limit=500)
    items = [apps.app_public(session=session, app=a) for a in rows]
    return render(request, "apps.html", user=user, apps=items, csrf_token=csrf_token(request, settings))


def _app_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    app: App,
    *,
    revealed_url: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    version = apps.published_version(session=session, app=app)
    tool = apps.describe_tool(apps.load_spec_of(version.spec if version else app.spec))
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
    view = endpoints.endpoint_public(settings=settings, endpoint=endpoint, reveal=False) if endpoint else None
    shown_url = revealed_url or (view.masked_url if view else "")
    snippet = {"mcpServers": {tool.name: {"url": shown_url or "<turn the MCP server on to get a URL>"}}}
    context = {
        "user": user,
        "app": app,
        "version": version,
        "draft_changed": version is not None and version.spec != app.spec,
        "tool": tool,
        "input_schema": json.dumps(tool.input_schema, indent=2, ensure_ascii=False),
        "output_schema": json.dumps(tool.output_schema, indent=2, ensure_ascii=False),
        "endpoint": view,
        "revealed_url": revealed_url,
        "snippet": json.dumps(snippet, indent=2, ensure_ascii=False),
        "notice": _NOTICES.get(request.query_params.get("notice", "")),
        "error": error,
        "csrf_token": csrf_token(request, settings),
    }
    response = render(request, "app.html", status_code=status_code, **context)
    response.headers.update(_NO_STORE)
    return response


def _back_to(app: App, notice: str) -> Response:
    return RedirectResponse(f"/apps/{app.id}?notice={notice}", status_code=303)


@console_router.get("/apps/{app_id}")
def app_page(
    request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser
) -> Response:
    """An app: its tool, schemas and MCP server panel."""
    return _app_page(request, session, settings, user, app)


@console_router.post("/apps/{app_id}/publish", dependencies=[CsrfChecked])
def publish(
    request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser
) -> Response:
    """Publish the draft as a new version."""
    try:
        apps.publish_app(session=session, app=app)
    except ServiceError as exc:
        return _app_page(request, session, settings, user, app, error=str(exc), status_code=409)
    return _back_to(app, "published")


@console_router.post("/apps/{app_id}/mcp/enable", dependencies=[CsrfChecked])
def enable_mcp(
    request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser
) -> Response:
    """Turn the MCP server on (the app must be published)."""
    try:
        endpoints.enable_endpoint(session=session, settings=settings, app=app)
    except ServiceError as exc:
        return _app_page(request, session, settings, user, app, error=str(exc), status_code=409)
    return _back_to(app, "enabled")


@console_router.post("/apps/{app_id}/mcp/disable", dependencies=[CsrfChecked])
def disable_mcp(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep) -> Response:
    """Turn the MCP server off."""
    endpoints.disable_endpoint(session=session, settings=settings, app=app)
    return _back_to(app, "disabled")


@console_router.post("/apps/{app_id}/mcp/regenerate", dependencies=[CsrfChecked])
def regenerate_mcp(
    request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser
) -> Response:
    """Give the MCP server a new URL and show it once; the old URL answers 404 from now on."""
    endpoint = endpoints.regenerate_endpoint(session=session, settings=settings, app=app)
    new_url = endpoints.endpoint_url(settings=settings, endpoint=endpoint)
    return _app_page(request, session, settings, user, app, revealed_url=new_url)


@console_router.get("/apps/{app_id}/mcp/url")
def reveal_url(app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep) -> Response:
    """The full MCP URL for the Reveal button (owner only, never cached)."""
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
    if endpoint is None:
        raise PageNotFound()
    return JSONResponse({"url": endpoints.endpoint_url(settings=settings, endpoint=endpoint)}, headers=_NO_STORE)
