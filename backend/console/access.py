"""An app's or a toolkit's access page: bearer tokens (create, then shown once with ready snippets on the page the
form redirects to; revoke) and the OAuth clients allowed to call it (revoke)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from backend.api.deps import SessionDep, SettingsDep
from backend.console import flash
from backend.console.auth import ConsoleUser, CsrfChecked, OwnedConsoleApp, csrf_token
from backend.console.clients import snippets
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.console.toolkits import OwnedConsoleToolkit
from backend.core.settings import Settings
from backend.models import AccessTokenCreate, App, Toolkit, User
from backend.services import Conflict, NotFound, apps, endpoints, oauth, tokens, toolkits

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


@dataclass(frozen=True)
class _Target:
    """What the page manages access to: an app's MCP endpoint or a toolkit."""

    kind: str
    name: str
    base: str
    server: str
    owner: dict[str, Any]  # the endpoint= or toolkit= argument of the token service
    ref: oauth.ResourceRef
    token_url: str


def _app_target(session: Session, settings: Settings, app: App) -> _Target:
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    tool = apps.describe_tool(apps.load_spec_of(app.spec))
    return _Target("app", app.name, f"/apps/{app.id}", tool.name, {"endpoint": endpoint},
                   oauth.ResourceRef("app", endpoint.id),  # type: ignore[arg-type]
                   tokens.bearer_url(settings=settings, endpoint_id=endpoint.id))


def _toolkit_target(settings: Settings, toolkit: Toolkit) -> _Target:
    return _Target("toolkit", toolkit.name, f"/toolkits/{toolkit.id}", toolkits.server_name(toolkit), {"toolkit": toolkit},
                   oauth.ResourceRef("toolkit", toolkit.id),  # type: ignore[arg-type]
                   tokens.bearer_url(settings=settings, toolkit_id=toolkit.id))


def _page(request: Request, session: Session, settings: Settings, user: User, target: _Target, *,
          error: str | None = None, status_code: int = 200) -> Response:
    rows = tokens.list_tokens(session=session, **target.owner)
    created = flash.take(request, settings)  # a token made by the form that redirected here, shown this once
    response = render(
        request, "access.html", status_code=status_code, user=user, target=target, error=error, created=created,
        created_snippets=snippets(target.server, target.token_url, created["token"]) if created else [],
        tokens=[tokens.token_public(settings=settings, token=t) for t in rows],
        grants=oauth.grants_public(session=session, owner_id=user.id, ref=target.ref),  # type: ignore[arg-type]
        csrf_token=csrf_token(request, settings),
    )
    response.headers["Cache-Control"] = "no-store"  # a new token is on the page
    if created is not None:
        flash.forget(response, request)
    return response


def _create(request: Request, session: Session, settings: Settings, user: User, target: _Target,
            name: str, expires_in_days: str) -> Response:
    try:
        days = float(expires_in_days) if expires_in_days.strip() else None
        body = AccessTokenCreate(name=name.strip(), expires_in_days=days)
        row, plaintext = tokens.create_token(session=session, owner_id=user.id, body=body, **target.owner)  # type: ignore[arg-type]
    except ValueError as exc:  # a number that is not one, or out of range (pydantic's ValidationError is one)
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "expiry must be a number of days"
        return _page(request, session, settings, user, target, error=f"The token was not created: {message}.", status_code=422)
    except Conflict as exc:
        return _page(request, session, settings, user, target, error=f"The token was not created: {exc}.", status_code=409)
    created = {"name": row.name, "token": plaintext}
    return flash.redirect_with(request, settings, f"{target.base}/access", created, "#created-token")


def _revoke_token(session: Session, user: User, target: _Target, token_id: int) -> Response:
    try:
        tokens.revoke_token(session=session, token_id=token_id, owner_id=user.id, **target.owner)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse(f"{target.base}/access", status_code=303)


def _revoke_client(session: Session, user: User, target: _Target, family: str) -> Response:
    try:
        oauth.revoke_grant(session=session, owner_id=user.id, ref=target.ref, family=family)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse(f"{target.base}/access", status_code=303)


TokenName = Annotated[str, Form(alias="name")]
ExpiresIn = Annotated[str, Form()]


@router.get("/apps/{app_id}/access")
def app_access(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """The app's tokens and the OAuth clients allowed to call it."""
    return _page(request, session, settings, user, _app_target(session, settings, app))


@router.post("/apps/{app_id}/access/tokens", dependencies=[CsrfChecked])
def app_token_create(request: Request, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
                     name: TokenName = "", expires_in_days: ExpiresIn = "") -> Response:
    """A new token for the app's token URL, shown once."""
    return _create(request, session, settings, user, _app_target(session, settings, app), name, expires_in_days)


@router.post("/apps/{app_id}/access/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def app_token_revoke(token_id: int, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Revoke one of the app's tokens."""
    return _revoke_token(session, user, _app_target(session, settings, app), token_id)


@router.post("/apps/{app_id}/access/oauth/{family}/revoke", dependencies=[CsrfChecked])
def app_client_revoke(family: str, app: OwnedConsoleApp, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Revoke an OAuth client's access to the app."""
    return _revoke_client(session, user, _app_target(session, settings, app), family)


@router.get("/toolkits/{toolkit_id}/access")
def toolkit_access(request: Request, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep,
                   user: ConsoleUser) -> Response:
    """The toolkit's tokens and the OAuth clients allowed to call it."""
    return _page(request, session, settings, user, _toolkit_target(settings, toolkit))


@router.post("/toolkits/{toolkit_id}/access/tokens", dependencies=[CsrfChecked])
def toolkit_token_create(request: Request, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep,
                         user: ConsoleUser, name: TokenName = "", expires_in_days: ExpiresIn = "") -> Response:
    """A new token for the toolkit's token URL, shown once."""
    return _create(request, session, settings, user, _toolkit_target(settings, toolkit), name, expires_in_days)


@router.post("/toolkits/{toolkit_id}/access/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def toolkit_token_revoke(token_id: int, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep,
                         user: ConsoleUser) -> Response:
    """Revoke one of the toolkit's tokens."""
    return _revoke_token(session, user, _toolkit_target(settings, toolkit), token_id)


@router.post("/toolkits/{toolkit_id}/access/oauth/{family}/revoke", dependencies=[CsrfChecked])
def toolkit_client_revoke(family: str, toolkit: OwnedConsoleToolkit, session: SessionDep, settings: SettingsDep,
                          user: ConsoleUser) -> Response:
    """Revoke an OAuth client's access to the toolkit."""
    return _revoke_client(session, user, _toolkit_target(settings, toolkit), family)
