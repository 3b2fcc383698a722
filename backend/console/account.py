"""The account page: named secrets (values never shown back), API tokens for automation (full or read-only), and
the OAuth clients allowed to manage your apps through the platform's MCP server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from backend.api.deps import SessionDep, SettingsDep
from backend.console.auth import ConsoleUser, CsrfChecked, csrf_token
from backend.console.render import ConsoleRoute, PageNotFound, render
from backend.core.settings import Settings
from backend.models import User
from backend.models.secret import MAX_SECRET_VALUE
from backend.services import NotFound, oauth, secrets, users
from backend.services.users import TOKEN_MAX_AGE

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_NOTICES = {
    "saved": "Secret saved. Its value is stored encrypted and is never shown again.",
    "deleted": "Secret deleted.",
    "client-revoked": "Access revoked: that client can no longer manage your apps.",
}


def _page(request: Request, session: Session, settings: Settings, user: User, *, status_code: int = 200,
          error: str | None = None, token: str | None = None, read_only: bool = False, name: str = "") -> Response:
    response = render(
        request, "account.html", status_code=status_code, user=user, csrf_token=csrf_token(request, settings),
        secrets=secrets.list_secrets(session=session, owner_id=user.id), error=error, new_token=token, secret_name=name,
        new_token_read_only=read_only, platform_url=f"{settings.public_url.rstrip('/')}/mcp/platform/mcp",
        platform_clients=oauth.grants_public(session=session, owner_id=user.id, ref=oauth.PLATFORM),  # type: ignore[arg-type]
        notice=_NOTICES.get(request.query_params.get("notice", "")), token_days=TOKEN_MAX_AGE // 86400,
        max_secret=MAX_SECRET_VALUE,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/account")
def account_page(request: Request, session: SessionDep, settings: SettingsDep, user: ConsoleUser) -> Response:
    """Secrets and API tokens."""
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
                 read_only: Annotated[str, Form()] = "") -> Response:
    """Issue a REST API access token (read-only if asked) and show it once."""
    scoped = read_only == "yes"
    token = users.issue_token(settings=settings, user=user, purpose="api", read_only=scoped)
    return _page(request, session, settings, user, token=token, read_only=scoped)


@router.post("/account/oauth/{family}/revoke", dependencies=[CsrfChecked])
def revoke_platform_client(family: str, session: SessionDep, user: ConsoleUser) -> Response:
    """Revoke an OAuth client's access to the platform server (managing your apps)."""
    try:
        oauth.revoke_grant(session=session, owner_id=user.id, ref=oauth.PLATFORM, family=family)  # type: ignore[arg-type]
    except NotFound:
        raise PageNotFound() from None
    return RedirectResponse("/account?notice=client-revoked", status_code=303)
