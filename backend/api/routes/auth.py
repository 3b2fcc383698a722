"""Sign-up and log-in."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from backend.api.deps import CurrentUser, SessionDep, SettingsDep
from backend.api.responses import errors
from backend.core.throttle import login_throttle
from backend.models import TokenPublic, UserCreate, UserLogin, UserPublic
from backend.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/signup", response_model=UserPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 409, 422))
def signup(body: UserCreate, session: SessionDep) -> UserPublic:
    """Create an account."""
    user = users.sign_up(session=session, email=str(body.email), password=body.password)
    return UserPublic(id=user.id, email=user.email, created_at=user.created_at)


@router.post("/login", response_model=TokenPublic, responses=errors(400, 401, 422, 429))
def login(body: UserLogin, request: Request, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    """Exchange e-mail and password for an access token (5 failures per account and address: 15 minutes' wait)."""
    key = login_throttle.key(body.email, request.client.host if request.client else None)
    wait = login_throttle.retry_after(key)
    if wait is not None:
        raise HTTPException(status_code=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)},
                            detail=f"too many failed log-ins for this account from your address; try again in {wait} s")
    user = users.authenticate(session=session, email=body.email, password=body.password)
    if user is None:
        login_throttle.failed(key)
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="wrong e-mail or password")
    login_throttle.succeeded(key)
    token = users.issue_token(settings=settings, user=user, read_only=body.read_only)
    return TokenPublic(access_token=token, read_only=body.read_only)


@router.get("/me", response_model=UserPublic, responses=errors(401))
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic(id=user.id, email=user.email, created_at=user.created_at)
