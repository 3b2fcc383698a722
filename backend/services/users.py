"""Accounts: sign-up, log-in, access tokens and the local admin the CLI acts as."""

from __future__ import annotations

from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.core.settings import Settings
from backend.models import User
from backend.services.errors import Conflict

LOCAL_ADMIN_EMAIL = "admin@localhost"
_TOKEN_SALTS = {"api": "toolpress.access-token", "console": "toolpress.console-session"}
TOKEN_MAX_AGE = 14 * 24 * 3600


def sign_up(*, session: Session, email: str, password: str) -> User:
    """Create an account; e-mails are unique."""
    if crud.get_user_by_email(session=session, email=email):
        raise Conflict("an account with that e-mail already exists")
    return crud.create_user(session=session, email=email, password_hash=security.hash_password(password))


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The user if the password matches, else None (no hint which part was wrong)."""
    user = crud.get_user_by_email(session=session, email=email)
    if user is None:
        security.hash_password(password)  # same cost either way
        return None
    if not security.verify_password(user.password_hash, password):
        return None
    if user.password_hash and security.needs_rehash(user.password_hash):
        user = set_password(session=session, user=user, password=password)  # parameters were raised since
    return user


def issue_token(*, settings: Settings, user: User, purpose: str = "api", read_only: bool = False) -> str:
    """A signed, expiring token: `api` for the REST API, `console` for the console cookie (not interchangeable);
    a `read_only` API token may only read."""
    claims: dict[str, object] = {"uid": user.id, **({"ro": True} if read_only else {})}
    return security.sign(settings.signing_key(), claims, _TOKEN_SALTS[purpose])


def token_is_read_only(*, settings: Settings, token: str, purpose: str = "api") -> bool:
    """Whether a (valid) token was issued read-only."""
    data = security.unsign(settings.signing_key(), token, _TOKEN_SALTS[purpose], TOKEN_MAX_AGE)
    return isinstance(data, dict) and data.get("ro") is True


def user_from_token(*, session: Session, settings: Settings, token: str, purpose: str = "api") -> User | None:
    """The user a token of this purpose was issued to, if it is valid and unexpired."""
    data = security.unsign(settings.signing_key(), token, _TOKEN_SALTS[purpose], TOKEN_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    return crud.get_user(session=session, user_id=data["uid"])


def local_admin(*, session: Session) -> User:
    """The user the CLI acts as (created on first use, no password until one is set)."""
    user = crud.get_user_by_email(session=session, email=LOCAL_ADMIN_EMAIL)
    if user is None:
        user = crud.create_user(session=session, email=LOCAL_ADMIN_EMAIL, password_hash=None, is_admin=True)
    return user


def set_password(*, session: Session, user: User, password: str) -> User:
    """Set a user's password."""
    user.password_hash = security.hash_password(password)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user
