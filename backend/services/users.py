"""Accounts: sign-up, password checks and the local admin the CLI acts as (sessions and tokens: `credentials`;
log-in limits, password changes and disabling: `accounts`)."""

from __future__ import annotations

from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.models import User
from backend.services.errors import Conflict

LOCAL_ADMIN_EMAIL = "admin@localhost"


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
        user.password_hash = security.hash_password(password)  # parameters were raised since; sessions stay
        user = crud.save_user(session=session, user=user)
    return user


def local_admin(*, session: Session) -> User:
    """The user the CLI acts as (created on first use, no password until one is set)."""
    user = crud.get_user_by_email(session=session, email=LOCAL_ADMIN_EMAIL)
    if user is None:
        user = crud.create_user(session=session, email=LOCAL_ADMIN_EMAIL, password_hash=None, is_admin=True)
    return user
