"""Toolkits: several of your published apps served as one MCP server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status

from backend.api.deps import CurrentUser, SessionDep, SettingsDep, TokenId, ToolkitId
from backend.api.responses import errors
from backend.models import (
    AccessTokenCreate,
    AccessTokenPublic,
    AccessTokensPublic,
    LimitsPublic,
    LimitsUpdate,
    OAuthGrantPublic,
    Toolkit,
    ToolkitCreate,
    ToolkitPublic,
    ToolkitsPublic,
    ToolkitUpdate,
)
from backend.services import NotFound, oauth, tokens, toolkits

router = APIRouter(prefix="/toolkits", tags=["toolkits"], responses=errors(401, 422))


def owned_toolkit(toolkit_id: ToolkitId, session: SessionDep, user: CurrentUser) -> Toolkit:
    """The toolkit with this id if the current user owns it; 404 otherwise."""
    try:
        return toolkits.get_toolkit(session=session, owner_id=user.id, toolkit_id=toolkit_id)  # type: ignore[arg-type]
    except NotFound:
        raise HTTPException(status_code=404, detail="toolkit not found") from None


OwnedToolkit = Annotated[Toolkit, Depends(owned_toolkit)]


def _public(session: SessionDep, settings: SettingsDep, toolkit: Toolkit, reveal: bool = False) -> ToolkitPublic:
    return toolkits.toolkit_public(session=session, settings=settings, toolkit=toolkit, reveal=reveal)


@router.get("", response_model=ToolkitsPublic)
def list_toolkits(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> ToolkitsPublic:
    """Your toolkits."""
    rows = toolkits.list_toolkits(session=session, owner_id=user.id)  # type: ignore[arg-type]
    return ToolkitsPublic(data=[_public(session, settings, t) for t in rows], count=len(rows))


@router.post("", response_model=ToolkitPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 404, 409, 413))
def create_toolkit(body: ToolkitCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> ToolkitPublic:
    """A new toolkit (switched off) over some of your published apps, one tool per app."""
    toolkit = toolkits.create_toolkit(session=session, settings=settings, owner_id=user.id, body=body)  # type: ignore[arg-type]
    return _public(session, settings, toolkit)


@router.get("/{toolkit_id}", response_model=ToolkitPublic, responses=errors(404))
def get_toolkit(toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep, reveal: bool = False) -> ToolkitPublic:
    """One toolkit; its URL is masked unless `reveal=true`."""
    return _public(session, settings, toolkit, reveal)


@router.patch("/{toolkit_id}", response_model=ToolkitPublic, responses=errors(400, 404, 409, 413))
def update_toolkit(body: ToolkitUpdate, toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> ToolkitPublic:
    """Rename it or change its apps; apps that stay keep their tool names."""
    return _public(session, settings, toolkits.update_toolkit(session=session, toolkit=toolkit, body=body))


@router.delete("/{toolkit_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_toolkit(toolkit: OwnedToolkit, session: SessionDep) -> Response:
    """Delete the toolkit and its tokens (the apps stay)."""
    toolkits.delete_toolkit(session=session, toolkit=toolkit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{toolkit_id}/enable", response_model=ToolkitPublic, responses=errors(404))
def enable(toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> ToolkitPublic:
    """Switch the toolkit's MCP server on (same URL as before)."""
    return _public(session, settings, toolkits.set_toolkit_enabled(session=session, settings=settings, toolkit=toolkit, enabled=True), True)


@router.post("/{toolkit_id}/disable", response_model=ToolkitPublic, responses=errors(404))
def disable(toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> ToolkitPublic:
    """Switch it off: its URL and tokens answer 404 until it is switched on again."""
    return _public(session, settings, toolkits.set_toolkit_enabled(session=session, settings=settings, toolkit=toolkit, enabled=False))


@router.post("/{toolkit_id}/regenerate", response_model=ToolkitPublic, responses=errors(404))
def regenerate(toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> ToolkitPublic:
    """A new secret URL; the old one answers 404 from now on. Tokens keep working."""
    return _public(session, settings, toolkits.regenerate_toolkit(session=session, settings=settings, toolkit=toolkit), True)


@router.get("/{toolkit_id}/limits", response_model=LimitsPublic, responses=errors(404))
def get_limits(toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> LimitsPublic:
    """Calls per minute and concurrent runs allowed on the toolkit."""
    return _public(session, settings, toolkit).limits


@router.put("/{toolkit_id}/limits", response_model=LimitsPublic, responses=errors(400, 404, 413))
def set_limits(body: LimitsUpdate, toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> LimitsPublic:
    """Replace the limits; null restores the server default, 0 removes the limit."""
    toolkit = toolkits.set_toolkit_limits(
        session=session, toolkit=toolkit, calls_per_minute=body.calls_per_minute, max_concurrent_runs=body.max_concurrent_runs
    )
    return _public(session, settings, toolkit).limits


@router.get("/{toolkit_id}/tokens", response_model=AccessTokensPublic, responses=errors(404))
def list_tokens(toolkit: OwnedToolkit, session: SessionDep, settings: SettingsDep) -> AccessTokensPublic:
    """The toolkit's tokens."""
    rows = tokens.list_tokens(session=session, toolkit=toolkit)
    url = tokens.bearer_url(settings=settings, toolkit_id=toolkit.id)
    return AccessTokensPublic(data=[tokens.token_public(settings=settings, token=t) for t in rows], count=len(rows), url=url)


@router.post("/{toolkit_id}/tokens", response_model=AccessTokenPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 404, 409, 413))
def create_token(
    body: AccessTokenCreate, toolkit: OwnedToolkit, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> AccessTokenPublic:
    """A new token for the toolkit's token URL; `token` is shown this once only."""
    row, plaintext = tokens.create_token(session=session, owner_id=user.id, body=body, toolkit=toolkit)  # type: ignore[arg-type]
    return tokens.token_public(settings=settings, token=row, plaintext=plaintext)


@router.delete("/{toolkit_id}/tokens/{token_id}", response_model=AccessTokenPublic, responses=errors(404))
def revoke_token(
    token_id: TokenId, toolkit: OwnedToolkit, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> AccessTokenPublic:
    """Revoke one of the toolkit's tokens."""
    row = tokens.revoke_token(session=session, token_id=token_id, owner_id=user.id, toolkit=toolkit)  # type: ignore[arg-type]
    return tokens.token_public(settings=settings, token=row)


@router.get("/{toolkit_id}/oauth", response_model=list[OAuthGrantPublic], responses=errors(404))
def list_oauth_grants(toolkit: OwnedToolkit, user: CurrentUser, session: SessionDep) -> list[OAuthGrantPublic]:
    """The OAuth clients you allowed to call this toolkit."""
    return oauth.grants_public(session=session, owner_id=user.id, ref=oauth.ResourceRef("toolkit", toolkit.id))  # type: ignore[arg-type]


@router.delete("/{toolkit_id}/oauth/{family}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def revoke_oauth_grant(family: str, toolkit: OwnedToolkit, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke a client's access to the toolkit."""
    oauth.revoke_grant(session=session, owner_id=user.id, ref=oauth.ResourceRef("toolkit", toolkit.id), family=family)  # type: ignore[arg-type]
    return Response(status_code=status.HTTP_204_NO_CONTENT)
