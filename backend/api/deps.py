"""Dependency aliases shared by the REST routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from backend.core.db import get_engine
from backend.core.settings import Settings, get_settings
from backend.models import App, User
from backend.models.account import API
from backend.models.base import MAX_ID
from backend.services import NotFound
from backend.services.apps import resolve_app
from backend.services import credentials
from backend.services.credentials import Credential


def settings_dep(request: Request) -> Settings:
    """The settings the application was built with."""
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def session_dep(settings: SettingsDep) -> Iterator[Session]:
    """A database session for one request."""
    with Session(get_engine(settings.sqlalchemy_url), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(session_dep)]

AppId = Annotated[int, Path(ge=1, le=MAX_ID, description="An app id")]
ToolkitId = Annotated[int, Path(ge=1, le=MAX_ID, description="A toolkit id")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="A token id")]

_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="The access token from POST /api/auth/login")


def signed_in(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Credential:
    """The API token of the request and its user; 401 when it is missing, unknown, revoked or expired."""
    found = credentials.authenticate(session=session, presented=creds.credentials, kind=API) if creds else None
    if found is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing, invalid, revoked or expired access token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


SignedIn = Annotated[Credential, Depends(signed_in)]


def current_credential(request: Request, credential: SignedIn) -> Credential:
    """The request's API token (`signed_in`); 403 when a read-only token tries to change something."""
    if request.method not in _READING_METHODS and credential.read_only:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                            detail="this access token is read-only; log in without read_only to change things")
    return credential


CurrentCredential = Annotated[Credential, Depends(current_credential)]


def current_user(credential: CurrentCredential) -> User:
    """The user behind the request's API token (see `current_credential`)."""
    return credential.user


CurrentUser = Annotated[User, Depends(current_user)]


def owned_app(app_id: AppId, session: SessionDep, user: CurrentUser) -> App:
    """The app with this id if the current user owns it; 404 otherwise (same answer for both)."""
    try:
        return resolve_app(session=session, ref=str(app_id), owner_id=user.id)
    except NotFound:
        raise HTTPException(status_code=404, detail="app not found") from None


OwnedApp = Annotated[App, Depends(owned_app)]
