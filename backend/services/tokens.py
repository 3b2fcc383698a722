"""Named bearer tokens for an app endpoint or a toolkit: create (shown once), list, revoke, authenticate."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from backend import crud
from backend.core import security
from backend.core.settings import Settings
from backend.models import (
    AccessToken,
    AccessTokenCreate,
    AccessTokenPublic,
    LimitsPublic,
    McpEndpoint,
    Toolkit,
    as_utc,
    utcnow,
)
from backend.services.errors import Conflict, NotFound

TOKEN_PREFIX = "tpk_"
_SHOWN_PREFIX = 10  # "tpk_" and six random characters: enough to tell tokens apart, useless to call
_LAST_USED_EVERY = timedelta(minutes=1)


class TokenRejected(Exception):
    """A presented bearer token does not open this endpoint; the message is safe to show the caller."""

    def __init__(self, message: str, *, error: str = "invalid_token") -> None:
        super().__init__(message)
        self.error = error


def new_token() -> str:
    """A fresh token: the recognisable prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(security.SECRET_BYTES)


def token_status(token: AccessToken, now: datetime | None = None) -> str:
    """`active`, `expired` or `revoked`."""
    if token.revoked_at is not None:
        return "revoked"
    expires = as_utc(token.expires_at)
    if expires is not None and expires <= (now or utcnow()):
        return "expired"
    return "active"


def token_is_active(*, session: Session, token_id: int) -> bool:
    """Whether the token with this id still opens its endpoint or toolkit."""
    token = crud.get_token(session=session, token_id=token_id)
    return token is not None and token_status(token) == "active"


def effective_limits(*, configured_rate: int | None, configured_concurrency: int | None, rate: int, concurrency: int) -> LimitsPublic:
    """Configured limits next to the ones enforced (the configured value, else the default)."""
    return LimitsPublic(
        calls_per_minute=configured_rate,
        max_concurrent_runs=configured_concurrency,
        effective_calls_per_minute=rate if configured_rate is None else configured_rate,
        effective_max_concurrent_runs=concurrency if configured_concurrency is None else configured_concurrency,
    )


def token_limits(*, settings: Settings, token: AccessToken) -> LimitsPublic:
    """The limits of one token."""
    return effective_limits(
        configured_rate=token.calls_per_minute,
        configured_concurrency=token.max_concurrent_runs,
        rate=settings.token_rate_limit_per_minute,
        concurrency=settings.token_max_concurrent_runs,
    )


def endpoint_limits(*, settings: Settings, endpoint: McpEndpoint) -> LimitsPublic:
    """The limits of an app endpoint."""
    return effective_limits(
        configured_rate=endpoint.calls_per_minute,
        configured_concurrency=endpoint.max_concurrent_runs,
        rate=settings.rate_limit_per_minute,
        concurrency=settings.max_concurrent_runs,
    )


def set_endpoint_limits(
    *, session: Session, endpoint: McpEndpoint, calls_per_minute: int | None, max_concurrent_runs: int | None
) -> McpEndpoint:
    """Replace an app endpoint's limits (None: the server default; 0: no limit)."""
    endpoint.calls_per_minute, endpoint.max_concurrent_runs = calls_per_minute, max_concurrent_runs
    return crud.save_endpoint(session=session, endpoint=endpoint)


def bearer_url(*, settings: Settings, endpoint_id: int | None = None, toolkit_id: int | None = None) -> str:
    """The URL to use with `Authorization: Bearer <token>` (it holds no secret)."""
    base = settings.base_url.rstrip("/")
    return f"{base}/mcp/e/{endpoint_id}/mcp" if endpoint_id is not None else f"{base}/mcp/t/{toolkit_id}/mcp"


def token_public(*, settings: Settings, token: AccessToken, plaintext: str | None = None) -> AccessTokenPublic:
    """The owner's view of a token; the token itself only right after creation."""
    return AccessTokenPublic(
        id=token.id,  # type: ignore[arg-type]
        name=token.name,
        prefix=token.prefix,
        token=plaintext,
        status=token_status(token),
        expires_at=as_utc(token.expires_at),
        revoked_at=as_utc(token.revoked_at),
        last_used_at=as_utc(token.last_used_at),
        created_at=as_utc(token.created_at),  # type: ignore[arg-type]
        limits=token_limits(settings=settings, token=token),
        url=bearer_url(settings=settings, endpoint_id=token.endpoint_id, toolkit_id=token.toolkit_id),
    )


def name_and_expiry(name: str, expires_at: datetime | None, expires_in_days: float | None) -> tuple[str, datetime | None]:
    """A new token's name (stripped, not empty) and when it expires (a time or a number of days, in the future)."""
    name = name.strip()
    if not name:
        raise Conflict("a token needs a name")
    if expires_at is not None and expires_in_days is not None:
        raise Conflict("give expires_at or expires_in_days, not both")
    expires = as_utc(expires_at)
    if expires_in_days is not None:
        expires = utcnow() + timedelta(days=expires_in_days)
    if expires is not None and expires <= utcnow():
        raise Conflict("expires_at is in the past")
    return name, expires


def create_token(
    *, session: Session, owner_id: int, body: AccessTokenCreate, endpoint: McpEndpoint | None = None, toolkit: Toolkit | None = None
) -> tuple[AccessToken, str]:
    """A new token for an endpoint or a toolkit; returns the row and the token (shown this once)."""
    name, expires = name_and_expiry(body.name, body.expires_at, body.expires_in_days)
    scope = crud.list_tokens(
        session=session,
        endpoint_id=endpoint.id if endpoint is not None else None,
        toolkit_id=toolkit.id if toolkit is not None else None,
    )
    if any(t.name == name and token_status(t) == "active" for t in scope):
        raise Conflict(f"a live token named {name!r} exists already; revoke it or choose another name")
    plaintext = new_token()
    row = AccessToken(
        owner_id=owner_id,
        endpoint_id=endpoint.id if endpoint is not None else None,
        toolkit_id=toolkit.id if toolkit is not None else None,
        name=name,
        prefix=plaintext[:_SHOWN_PREFIX],
        token_hash=security.lookup_hash(plaintext),
        calls_per_minute=body.calls_per_minute,
        max_concurrent_runs=body.max_concurrent_runs,
        expires_at=expires,
    )
    return crud.create_token(session=session, token=row), plaintext


def list_tokens(*, session: Session, endpoint: McpEndpoint | None = None, toolkit: Toolkit | None = None) -> list[AccessToken]:
    """The tokens of an endpoint or a toolkit, revoked and expired ones included."""
    return crud.list_tokens(
        session=session,
        endpoint_id=endpoint.id if endpoint is not None else None,
        toolkit_id=toolkit.id if toolkit is not None else None,
    )


def revoke_token(
    *, session: Session, token_id: int, owner_id: int, endpoint: McpEndpoint | None = None, toolkit: Toolkit | None = None
) -> AccessToken:
    """Revoke one token of this endpoint or toolkit; it stops working on its next request."""
    token = crud.get_token(session=session, token_id=token_id, owner_id=owner_id)
    belongs = token is not None and (
        (endpoint is not None and token.endpoint_id == endpoint.id) or (toolkit is not None and token.toolkit_id == toolkit.id)
    )
    if token is None or not belongs:
        raise NotFound("token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token = crud.save_token(session=session, token=token)
    return token


@dataclass(frozen=True)
class Bearer:
    """The token a request came with, once accepted: an access token (`tpk_…`) or an OAuth access token."""

    id: int | None  # the AccessToken row; None for OAuth
    name: str
    calls_per_minute: int | None
    max_concurrent_runs: int | None
    access: str = "token"  # or "oauth"
    limit_key: str = ""  # what its limits are counted under


def authenticate(
    *, session: Session, presented: str | None, endpoint_id: int | None = None, toolkit_id: int | None = None
) -> Bearer:
    """The token behind an `Authorization` header value, if it opens this endpoint or toolkit; else TokenRejected."""
    value = split_authorization(presented)
    if not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        raise TokenRejected("the token is not valid for this MCP server")
    digest = security.lookup_hash(value)
    token = crud.get_token_by_hash(session=session, token_hash=digest)
    if token is None or not security.same_secret(token.token_hash, digest):
        raise TokenRejected("the token is not valid for this MCP server")
    if (endpoint_id is not None and token.endpoint_id != endpoint_id) or (toolkit_id is not None and token.toolkit_id != toolkit_id):
        raise TokenRejected("the token is not valid for this MCP server")
    status = token_status(token)
    if status == "revoked":
        raise TokenRejected(f"the token {token.name!r} was revoked")
    if status == "expired":
        raise TokenRejected(f"the token {token.name!r} expired at {as_utc(token.expires_at):%Y-%m-%d %H:%M} UTC")
    last = as_utc(token.last_used_at)
    if last is None or utcnow() - last > _LAST_USED_EVERY:
        token.last_used_at = utcnow()
        token = crud.save_token(session=session, token=token)
    return Bearer(
        id=token.id,
        name=token.name,
        calls_per_minute=token.calls_per_minute,
        max_concurrent_runs=token.max_concurrent_runs,
        limit_key=f"token:{token.id}",
    )


def split_authorization(presented: str | None) -> str:
    """The credential of an `Authorization: Bearer …` header; TokenRejected when there is none."""
    if not presented:
        raise TokenRejected("this MCP URL needs an 'Authorization: Bearer <token>' header", error="")
    scheme, _, value = presented.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise TokenRejected("the Authorization header must read 'Bearer <token>'", error="invalid_request")
    return value
