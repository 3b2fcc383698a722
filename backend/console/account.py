"""The account page: named secrets (values never shown back), API tokens (named, optional expiry, read-only if
asked; listed with their last use; revoke), "log out everywhere", and the OAuth clients allowed to manage your
apps through the platform's MCP server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from backend.api.deps import SessionDep, SettingsDep
from backend.console import flash
from backend.console.auth import ConsoleUser, CsrfChecked, clear_session_cookie, csrf_token
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.core.settings import Settings
from backend.models import AccountTokenCreate, User
from backend.models.secret import MAX_SECRET_VALUE
from backend.services import Conflict, NotFound, accounts, credentials, oauth, secrets

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_NOTICES = {
    "saved": "Secret saved. Its value is stored encrypted and is never shown again.",
    "deleted": "Secret deleted.",
    "client-revoked": "Access revoked: that client can no longer manage your apps.",
    "token-revoked": "Token revoked: it is refused from its next request on.",
}


def _page(request: Request, session: Session, settings: Settings, user: User, *, status_code: int = 200,
          error: str | None = None, name: str = "", token_error: str | None = None,
          token_form: dict[str, str] | None = None) -> Response:
    created = flash.take(request, settings)
    response = render(
        request, "account.html", status_code=status_code, user=user, csrf_token=csrf_token(request, settings),
        secrets=secrets.list_secrets(session=session, owner_id=user.id), error=error, secret_name=name,
        created=created, token_error=token_error, token_form=token_form or {},
        tokens=[credentials.token_public(token=t, user=user) for t in credentials.list_api_tokens(session=session, user=user)],
        sessions=credentials.live_sessions(session=session, user=user),
        platform_url=f"{settings.base_url.rstrip('/')}/mcp/platform/mcp",
        platform_clients=oauth.grants_public(session=session, owner_id=user.id, ref=oauth.PLATFORM),  # type: ignore[arg-type]
        notice=_NOTICES.get(request.query_params.get("notice", "")), token_days=credentials.LIFETIME.days,
        max_secret=MAX_SECRET_VALUE,
    )
    response.headers["Cache-Control"] = "no-store"
    if created is not None:
        flash.forget(response, request)
    return response


@router.get("/account")
def account_page(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Secrets, API tokens and sessions."""
    return _page(request, session, settings, user)


@router.post("/account/secrets", dependencies=[CsrfChecked])
def set_secret(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
               name: Annotated[str, Form(max_length=64)] = "",
               value: Annotated[str, Form(max_length=MAX_SECRET_VALUE)] = "") -> Response:
    """Add a secret or replace its value."""
    name = name.strip()
    if not value:
        return _page(request, session, settings, user, status_code=400, name=name, error="Enter the secret's value.")
    try:
        secrets.set_secret(session=session, settings=settings, owner_id=user.id, name=name, value=value)
    except secrets.InvalidSecretName as exc:
        return _page(request, session, settings, user, status_code=400, name=name, error=f"{str(exc).capitalize()}.")
    return RedirectResponse("/account?notice=saved", status_code=303)


@router.post("/account/secrets/{name}/delete", dependencies=[CsrfChecked])
def delete_secret(request: Request, name: str, session: SessionDep, settings: SettingsDep,
                  user: ConsoleUser) -> Response:
    """Delete a secret."""
    try:
        secrets.delete_secret(session=session, owner_id=user.id, name=name)
    except NotFound:
        return _page(request, session, settings, user, status_code=404, error=f"There is no secret named {name[:64]}.")
    return RedirectResponse("/account?notice=deleted", status_code=303)


@router.post("/account/tokens", dependencies=[CsrfChecked])
def create_token(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser,
                 name: Annotated[str, Form(max_length=100)] = "", expires_in_days: Annotated[str, Form()] = "",
                 read_only: Annotated[str, Form()] = "") -> Response:
    """Make a named REST API token, then show it once on the account page (a redirect: reloading repeats nothing)."""
    form = {"name": name, "expires_in_days": expires_in_days, "read_only": read_only}
    try:
        days = float(expires_in_days) if expires_in_days.strip() else None
        body = AccountTokenCreate(name=name.strip(), expires_in_days=days, read_only=read_only == "yes")
        row, plaintext = credentials.create_api_token(session=session, user=user, body=body)
    except (ValueError, Conflict) as exc:  # a number that is not one, out of range (pydantic), or a clash
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else (
            str(exc) if isinstance(exc, Conflict) else "the expiry must be a number of days")
        return _page(request, session, settings, user, status_code=409 if isinstance(exc, Conflict) else 422,
                     token_error=f"The token was not created: {message}.", token_form=form)
    created = {"name": row.name, "token": plaintext, "read_only": row.read_only}
    return flash.redirect_with(request, settings, "/account", created, "#new-token")


@router.post("/account/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_token(token_id: int, session: SessionDep, user: ConsoleUser) -> Response:
    """Revoke one of your API tokens."""
    try:
        credentials.revoke_api_token(session=session, user=user, token_id=token_id)
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse("/account?notice=token-revoked#tokens-h", status_code=303)


@router.post("/account/logout-everywhere", dependencies=[CsrfChecked])
def logout_everywhere(session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """End every session (this one too) and API token of the account, and platform OAuth clients' access."""
    accounts.log_out_everywhere(session=session, user=user)
    response = RedirectResponse("/login?notice=logged-out-everywhere", status_code=303)
    clear_session_cookie(response, settings=settings)
    return response


@router.post("/account/oauth/{family}/revoke", dependencies=[CsrfChecked])
def revoke_platform_client(family: str, session: SessionDep, user: ConsoleUser) -> Response:
    """Revoke an OAuth client's access to the platform server (managing your apps)."""
    try:
        oauth.revoke_grant(session=session, owner_id=user.id, ref=oauth.PLATFORM, family=family)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse("/account?notice=client-revoked", status_code=303)
