"""Bearer tokens and limits of an app's MCP server."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from backend.api.deps import CurrentUser, OwnedApp, SessionDep, SettingsDep, TokenId
from backend.api.responses import errors
from backend.models import AccessTokenCreate, AccessTokenPublic, AccessTokensPublic, LimitsPublic, LimitsUpdate, OAuthGrantPublic
from backend.services import endpoints, oauth, tokens

router = APIRouter(prefix="/apps/{app_id}/mcp", tags=["mcp"], responses=errors(401, 404, 422))


@router.get("/tokens", response_model=AccessTokensPublic)
def list_tokens(app: OwnedApp, session: SessionDep, settings: SettingsDep) -> AccessTokensPublic:
    """The app's tokens (names, prefixes, status; never the tokens themselves)."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    rows = tokens.list_tokens(session=session, endpoint=endpoint)
    url = tokens.bearer_url(settings=settings, endpoint_id=endpoint.id)
    return AccessTokensPublic(data=[tokens.token_public(settings=settings, token=t) for t in rows], count=len(rows), url=url)


@router.post("/tokens", response_model=AccessTokenPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 409, 413))
def create_token(
    body: AccessTokenCreate, app: OwnedApp, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> AccessTokenPublic:
    """A new token for `Authorization: Bearer` on the app's token URL; `token` is shown this once only."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    row, plaintext = tokens.create_token(session=session, owner_id=user.id, body=body, endpoint=endpoint)  # type: ignore[arg-type]
    return tokens.token_public(settings=settings, token=row, plaintext=plaintext)


@router.delete("/tokens/{token_id}", response_model=AccessTokenPublic)
def revoke_token(token_id: TokenId, app: OwnedApp, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> AccessTokenPublic:
    """Revoke one token; it is refused from its next request on. Other tokens and the URL are untouched."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    row = tokens.revoke_token(session=session, token_id=token_id, owner_id=user.id, endpoint=endpoint)  # type: ignore[arg-type]
    return tokens.token_public(settings=settings, token=row)


@router.get("/limits", response_model=LimitsPublic)
def get_limits(app: OwnedApp, session: SessionDep, settings: SettingsDep) -> LimitsPublic:
    """Calls per minute and concurrent runs allowed on the app's MCP server (all ways in together)."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    return tokens.endpoint_limits(settings=settings, endpoint=endpoint)


@router.put("/limits", response_model=LimitsPublic, responses=errors(400, 413))
def set_limits(body: LimitsUpdate, app: OwnedApp, session: SessionDep, settings: SettingsDep) -> LimitsPublic:
    """Replace the limits; null restores the server default, 0 removes the limit."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    endpoint = tokens.set_endpoint_limits(
        session=session, endpoint=endpoint, calls_per_minute=body.calls_per_minute, max_concurrent_runs=body.max_concurrent_runs
    )
    return tokens.endpoint_limits(settings=settings, endpoint=endpoint)


@router.get("/oauth", response_model=list[OAuthGrantPublic])
def list_oauth_grants(app: OwnedApp, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> list[OAuthGrantPublic]:
    """The OAuth clients you allowed to call this app."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    return oauth.grants_public(session=session, owner_id=user.id, ref=oauth.ResourceRef("app", endpoint.id))  # type: ignore[arg-type]


@router.delete("/oauth/{family}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_oauth_grant(family: str, app: OwnedApp, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> Response:
    """Revoke a client's access: its access and refresh tokens stop working at once."""
    endpoint = endpoints.get_or_create_endpoint(session=session, settings=settings, app=app)
    oauth.revoke_grant(session=session, owner_id=user.id, ref=oauth.ResourceRef("app", endpoint.id), family=family)  # type: ignore[arg-type]
    return Response(status_code=status.HTTP_204_NO_CONTENT)
