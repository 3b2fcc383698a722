"""MCP endpoint rows."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from backend.models import App, AppVersion, McpEndpoint


def create_endpoint(*, session: Session, app_id: int, nonce: str, secret_hash: str) -> McpEndpoint:
    """Insert the endpoint of an app (disabled)."""
    endpoint = McpEndpoint(app_id=app_id, nonce=nonce, secret_hash=secret_hash)
    session.add(endpoint)
    session.commit()
    session.refresh(endpoint)
    return endpoint


def get_endpoint_by_app(*, session: Session, app_id: int) -> McpEndpoint | None:
    """The endpoint of an app, if one was ever created."""
    return session.exec(select(McpEndpoint).where(McpEndpoint.app_id == app_id)).first()


def get_endpoint(*, session: Session, endpoint_id: int) -> McpEndpoint | None:
    """An endpoint by id."""
    return session.get(McpEndpoint, endpoint_id)


def get_endpoint_by_hash(*, session: Session, secret_hash: str) -> McpEndpoint | None:
    """The endpoint whose secret hashes to `secret_hash`."""
    return session.exec(select(McpEndpoint).where(McpEndpoint.secret_hash == secret_hash)).first()


_LIVE_ENDPOINT = (  # built once: a lookup only binds the hash
    select(McpEndpoint, App, AppVersion)
    .join(App, col(App.id) == col(McpEndpoint.app_id))
    .join(AppVersion, col(AppVersion.id) == col(App.published_version_id))
    .where(col(McpEndpoint.secret_hash) == bindparam("secret_hash"), col(McpEndpoint.enabled).is_(True))
    .options(defer(App.spec, raiseload=True), defer(AppVersion.spec))
)


def get_live_endpoint_by_hash(
    *, session: Session, secret_hash: str
) -> tuple[McpEndpoint, App, AppVersion] | None:
    """The enabled endpoint whose secret hashes to `secret_hash`, with its app and published version, in one query.

    None when no endpoint has that hash, it is switched off, or its app has no published version.
    The two spec documents are not loaded: serving needs neither the app's draft nor, when its parse is
    cached, the version's spec (`version.spec` loads on first access while the session is open).
    """
    row = session.exec(_LIVE_ENDPOINT, params={"secret_hash": secret_hash}).first()
    return None if row is None else (row[0], row[1], row[2])


def save_endpoint(*, session: Session, endpoint: McpEndpoint) -> McpEndpoint:
    """Persist changes to an endpoint."""
    session.add(endpoint)
    session.commit()
    session.refresh(endpoint)
    return endpoint
