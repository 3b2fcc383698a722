"""Sign-up and log-in."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from backend.api.deps import CurrentUser, SessionDep, SettingsDep
from backend.api.responses import errors
from backend.models import TokenPublic, UserCreate, UserLogin, UserPublic
from backend.services import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/signup", response_model=UserPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 409, 422))
def signup(body: UserCreate, session: SessionDep) -> UserPublic:
    """Create an account."""
    user = users.sign_up(session=session, email=str(body.email), password=body.password)
    return UserPublic(id=user.id, email=user.email, created_at=user.created_at)


@router.post("/login", response_model=TokenPublic, responses=errors(400, 401, 422, 429))
def login(body: UserLogin, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    """Exchange e-mail and password for an access token."""
    user = users.authenticate(session=session, email=body.email, password=body.password)
    if user is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="wrong e-mail or password")
    return TokenPublic(access_token=users.issue_token(settings=settings, user=user))


@router.get("/me", response_model=UserPublic, responses=errors(401))
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic(id=user.id, email=user.email, created_at=user.created_at)
