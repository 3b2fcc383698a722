"""Sessions and API tokens of an account: issue, authenticate, list and revoke them, or end them all at once.

Both are random bearer tokens kept as SHA-256 hashes (`AccountToken`): the console's session cookie
(`tps_…`) and REST API tokens (`tpu_…`, from a log-in or made by name on the account page). Every request
reads its token's row and user, so a logout, a revoke or `end_all` (password change, "log out everywhere",
a disabled account) is seen by every API process at that request. `end_all` raises the user's credential
version, which stale tokens carry: one issued by a log-in that raced a password change is dead on arrival.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.models import AccountToken, AccountTokenCreate, AccountTokenPublic, User, as_utc, utcnow
from backend.models.account import API, SESSION
from backend.services import oauth
from backend.services.errors import Conflict, NotFound
from backend.services.tokens import name_and_expiry

PREFIXES = {SESSION: "tps_", API: "tpu_"}
LIFETIME = timedelta(days=14)  # of a console session and of a token made by logging in
_SHOWN_PREFIX = 10  # the prefix and six random characters: enough to tell tokens apart, useless to call
_LAST_USED_EVERY = timedelta(minutes=1)
_KEEP_ENDED = timedelta(days=30)  # ended tokens stay listed this long, then go


@dataclass(frozen=True)
class Credential:
    """An accepted session or API token and the user it acts as."""

    user: User
    token: AccountToken

    @property
    def read_only(self) -> bool:
        """Whether the token may only read."""
        return self.token.read_only


def token_status(token: AccountToken, user: User, now: datetime | None = None) -> str:
    """`active`, `expired` or `revoked` (revoked too when the account was disabled or logged out everywhere)."""
    if token.revoked_at is not None or user.disabled_at is not None or token.credential_version != user.credential_version:
        return "revoked"
    expires = as_utc(token.expires_at)
    if expires is not None and expires <= (now or utcnow()):
        return "expired"
    return "active"


def _issue(session: Session, user: User, kind: str, name: str, expires_at: datetime | None,
           read_only: bool = False) -> tuple[AccountToken, str]:
    plaintext = PREFIXES[kind] + secrets.token_urlsafe(security.SECRET_BYTES)
    crud.delete_ended_account_tokens(session=session, user_id=user.id, kind=kind,  # type: ignore[arg-type]
                                     before=utcnow() - _KEEP_ENDED)
    row = AccountToken(
        user_id=user.id,  # type: ignore[arg-type]
        kind=kind,
        name=name,
        prefix=plaintext[:_SHOWN_PREFIX],
        token_hash=security.lookup_hash(plaintext),
        read_only=read_only,
        credential_version=user.credential_version,
        expires_at=expires_at,
    )
    return crud.create_account_token(session=session, token=row), plaintext


def start_session(*, session: Session, user: User) -> str:
    """A new console session for a user who just logged in (the cookie's value)."""
    return _issue(session, user, SESSION, "console", utcnow() + LIFETIME)[1]


def log_in_token(*, session: Session, user: User, name: str, read_only: bool) -> tuple[AccountToken, str]:
    """The API token a log-in returns: named, expiring after LIFETIME, listed with the others."""
    return _issue(session, user, API, name.strip() or "API log-in", utcnow() + LIFETIME, read_only)


def create_api_token(*, session: Session, user: User, body: AccountTokenCreate) -> tuple[AccountToken, str]:
    """A named API token with an optional expiry; returns the row and the token (shown this once)."""
    name, expires = name_and_expiry(body.name, body.expires_at, body.expires_in_days)
    if any(t.name == name and token_status(t, user) == "active" for t in list_api_tokens(session=session, user=user)):
        raise Conflict(f"a live token named {name!r} exists already; revoke it or choose another name")
    return _issue(session, user, API, name, expires, body.read_only)


def authenticate(*, session: Session, presented: str, kind: str) -> Credential | None:
    """The live session or API token (`kind`) behind a presented value, with its user; else None."""
    if not presented.startswith(PREFIXES[kind]) or len(presented) > 200:
        return None
    digest = security.lookup_hash(presented)
    found = crud.get_account_token_by_hash(session=session, token_hash=digest)
    if found is None:
        return None
    token, user = found
    if token.kind != kind or not security.same_secret(token.token_hash, digest) or token_status(token, user) != "active":
        return None
    last = as_utc(token.last_used_at)
    if last is None or utcnow() - last > _LAST_USED_EVERY:
        token.last_used_at = utcnow()
        token = crud.save_account_token(session=session, token=token)
    return Credential(user=user, token=token)


def end(*, session: Session, token: AccountToken) -> None:
    """End one session or token (a logout): refused from its next request on, in every API process."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        crud.save_account_token(session=session, token=token)


def list_api_tokens(*, session: Session, user: User) -> list[AccountToken]:
    """The user's API tokens, newest first (ended ones for _KEEP_ENDED)."""
    return crud.list_account_tokens(session=session, user_id=user.id, kind=API)  # type: ignore[arg-type]


def live_sessions(*, session: Session, user: User) -> int:
    """How many console sessions of the user are still open."""
    rows = crud.list_account_tokens(session=session, user_id=user.id, kind=SESSION)  # type: ignore[arg-type]
    return sum(token_status(t, user) == "active" for t in rows)


def revoke_api_token(*, session: Session, user: User, token_id: int) -> AccountToken:
    """Revoke one of the user's API tokens; NotFound for a missing one or another user's."""
    token = crud.get_account_token(session=session, token_id=token_id, user_id=user.id, kind=API)  # type: ignore[arg-type]
    if token is None:
        raise NotFound("token not found")
    end(session=session, token=token)
    return token


def token_public(*, token: AccountToken, user: User, plaintext: str | None = None) -> AccountTokenPublic:
    """The owner's view of an API token; the token itself only right after it was made."""
    return AccountTokenPublic(
        id=token.id,  # type: ignore[arg-type]
        name=token.name,
        prefix=token.prefix,
        token=plaintext,
        read_only=token.read_only,
        status=token_status(token, user),
        expires_at=as_utc(token.expires_at),
        revoked_at=as_utc(token.revoked_at),
        last_used_at=as_utc(token.last_used_at),
        created_at=as_utc(token.created_at),  # type: ignore[arg-type]
    )


def end_all(*, session: Session, user: User) -> User:
    """End every session and API token of the user, and every OAuth client's access to the platform server.

    The version is raised (and committed) first: from that moment no earlier token passes `authenticate`
    in any API process; the rows are then marked revoked for the account page.
    """
    user.credential_version += 1
    user = crud.save_user(session=session, user=user)
    crud.revoke_account_tokens(session=session, user_id=user.id)  # type: ignore[arg-type]
    session.commit()
    oauth.revoke_owner_grants(session=session, owner_id=user.id, platform_only=True)  # type: ignore[arg-type]
    return user
