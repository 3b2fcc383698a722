"""Sign-up, log-in and log-out, and the account's API tokens."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from backend.api.deps import CurrentCredential, CurrentUser, SessionDep, SettingsDep, SignedIn, TokenId
from backend.api.login import client_address, is_known_client, remember_client
from backend.api.responses import ErrorPublic, errors
from backend.models import AccountTokenCreate, AccountTokenPublic, AccountTokensPublic, TokenPublic, UserCreate, UserLogin, UserPublic
from backend.services import accounts, credentials, users
from backend.services.login_throttle import LoginRefused

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/signup", response_model=UserPublic, status_code=status.HTTP_201_CREATED, responses=errors(400, 409, 422))
def signup(body: UserCreate, session: SessionDep) -> UserPublic:
    """Create an account."""
    user = users.sign_up(session=session, email=str(body.email), password=body.password)
    return UserPublic(id=user.id, email=user.email, created_at=user.created_at)


@router.post("/login", response_model=TokenPublic, responses={
    **errors(400, 401, 422, 429), 403: {"description": "The account is disabled", "model": ErrorPublic}})
def login(body: UserLogin, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> TokenPublic:
    """Exchange e-mail and password for an API token that expires in 14 days (listed under GET /api/auth/tokens).

    Failed log-ins are limited per account and address, per address and per account (429 with Retry-After).
    """
    try:
        user = accounts.log_in(session=session, settings=settings, email=body.email, password=body.password,
                               address=client_address(request), known=is_known_client(request, settings, body.email))
    except LoginRefused as exc:
        raise HTTPException(status_code=status.HTTP_429_TOO_MANY_REQUESTS, detail=str(exc),
                            headers={"Retry-After": str(exc.retry_after)}) from None
    except accounts.WrongCredentials as exc:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from None
    except accounts.AccountDisabled as exc:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
    row, token = credentials.log_in_token(session=session, user=user, name=body.name, read_only=body.read_only)
    remember_client(response, request, settings, body.email)
    return TokenPublic(access_token=token, read_only=row.read_only, id=row.id, name=row.name,  # type: ignore[arg-type]
                       expires_at=row.expires_at)


@router.get("/me", response_model=UserPublic, responses=errors(401))
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic(id=user.id, email=user.email, created_at=user.created_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401))
def logout(credential: SignedIn, session: SessionDep) -> Response:
    """End the token this request carries (read-only tokens may end themselves too)."""
    credentials.end(session=session, token=credential.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-everywhere", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401))
def logout_everywhere(credential: CurrentCredential, session: SessionDep) -> Response:
    """End every API token and console session of the account, and its OAuth clients' access to the platform."""
    accounts.log_out_everywhere(session=session, user=credential.user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tokens", response_model=AccountTokensPublic, responses=errors(401))
def list_tokens(user: CurrentUser, session: SessionDep) -> AccountTokensPublic:
    """The account's API tokens, newest first: names, prefixes, status and last use (never the tokens)."""
    rows = credentials.list_api_tokens(session=session, user=user)
    return AccountTokensPublic(data=[credentials.token_public(token=t, user=user) for t in rows], count=len(rows))


@router.post("/tokens", response_model=AccountTokenPublic, status_code=status.HTTP_201_CREATED,
             responses=errors(400, 401, 409, 413, 422))
def create_token(body: AccountTokenCreate, user: CurrentUser, session: SessionDep) -> AccountTokenPublic:
    """A named API token with an optional expiry (and read-only if asked); `token` is shown this once only."""
    row, plaintext = credentials.create_api_token(session=session, user=user, body=body)
    return credentials.token_public(token=row, user=user, plaintext=plaintext)


@router.delete("/tokens/{token_id}", response_model=AccountTokenPublic, responses=errors(401, 404, 422))
def revoke_token(token_id: TokenId, user: CurrentUser, session: SessionDep) -> AccountTokenPublic:
    """Revoke one API token of the account; it is refused from its next request on."""
    return credentials.token_public(token=credentials.revoke_api_token(session=session, user=user, token_id=token_id),
                                    user=user)
