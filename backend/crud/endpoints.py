"""MCP endpoint rows."""

from __future__ import annotations

from itertools import accumulate

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.core import statements
from backend.models import App, AppVersion, DetachedRows, McpEndpoint


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


# What serving a URL reads of the endpoint, its app and the live version: every column but the two spec documents
# (serving needs neither the app's draft nor, when its parse is cached, the version's spec).
_SERVED = tuple((model, tuple(column for column in model.__table__.columns if column.key != "spec"))
                for model in (McpEndpoint, App, AppVersion))
_SERVED_ROWS = tuple(  # each table's rows, and its part of a row of the statement below
    (DetachedRows(model, [column.key for column in columns]), slice(end - len(columns), end))
    for (model, columns), end in zip(_SERVED, accumulate(len(columns) for _, columns in _SERVED))
)
_LIVE_ENDPOINT = (  # built once: a lookup only binds the hash
    sa_select(*(column for _, columns in _SERVED for column in columns))
    .join_from(McpEndpoint, App, col(App.id) == col(McpEndpoint.app_id))
    .join(AppVersion, col(AppVersion.id) == col(App.published_version_id))
    .where(col(McpEndpoint.secret_hash) == bindparam("secret_hash"), col(McpEndpoint.enabled).is_(True))
)


def get_live_endpoint_by_hash(
    *, db: statements.Scope, secret_hash: str
) -> tuple[McpEndpoint, App, AppVersion] | None:
    """The enabled endpoint whose secret hashes to `secret_hash`, with its app and published version, in one query.

    None when no endpoint has that hash, it is switched off, or its app has no published version. One plain
    statement, the three rows built from its values (models.DetachedRows: what the ORM would have built, at a
    fraction of the cost, on every request). The spec documents are not read: reading `app.spec` or
    `version.spec` raises DetachedInstanceError (crud.get_version_document reads a version's).
    """
    row = statements.first(db, _LIVE_ENDPOINT, {"secret_hash": secret_hash})
    if row is None:
        return None
    endpoint, app, version = (rows.row(row[part]) for rows, part in _SERVED_ROWS)
    return endpoint, app, version


def save_endpoint(*, session: Session, endpoint: McpEndpoint) -> McpEndpoint:
    """Persist changes to an endpoint."""
    session.add(endpoint)
    session.commit()
    session.refresh(endpoint)
    return endpoint
