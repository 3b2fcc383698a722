"""Turn an app's MCP server on and off, rotate its URL, and find the app behind a URL secret."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from backend import crud
from backend.core import security, statements
from backend.core.settings import Settings
from backend.models import App, AppVersion, EndpointPublic, McpEndpoint, utcnow
from backend.services.apps import version_spec
from backend.services.errors import Conflict
from backend.services.runs import cancel_run


def _url(settings: Settings, secret: str) -> str:
    # The path ends in /mcp because common clients (the MCP Inspector among them) treat a URL that
    # does not end in /mcp as a server root and append /mcp to it; /mcp/{secret} is served too.
    return f"{settings.base_url.rstrip('/')}/mcp/{secret}/mcp"


def _mask(settings: Settings, secret: str) -> str:
    return f"{settings.base_url.rstrip('/')}/mcp/{secret[:4]}{'•' * 12}/mcp"


def _secret_of(settings: Settings, endpoint: McpEndpoint) -> str:
    return security.derive_secret(settings.signing_key(), endpoint.nonce)


def _fresh_material(settings: Settings) -> tuple[str, str]:
    nonce = security.new_nonce()
    secret = security.derive_secret(settings.signing_key(), nonce)
    return nonce, security.lookup_hash(secret)


def endpoint_url(*, settings: Settings, endpoint: McpEndpoint) -> str:
    """The full secret-bearing URL of an endpoint (only for its owner's eyes)."""
    return _url(settings, _secret_of(settings, endpoint))


def endpoint_public(*, settings: Settings, endpoint: McpEndpoint, reveal: bool = False) -> EndpointPublic:
    """The owner's view of an endpoint; the URL only when `reveal`."""
    secret = _secret_of(settings, endpoint)
    return EndpointPublic(
        enabled=endpoint.enabled,
        url=_url(settings, secret) if reveal else None,
        masked_url=_mask(settings, secret),
        created_at=endpoint.created_at,
        rotated_at=endpoint.rotated_at,
    )


def get_or_create_endpoint(*, session: Session, settings: Settings, app: App) -> McpEndpoint:
    """The app's endpoint, created (disabled) on first use."""
    endpoint = crud.get_endpoint_by_app(session=session, app_id=app.id)
    if endpoint is None:
        nonce, secret_hash = _fresh_material(settings)
        endpoint = crud.create_endpoint(session=session, app_id=app.id, nonce=nonce, secret_hash=secret_hash)
    return endpoint


def enable_endpoint(*, session: Session, settings: Settings, app: App) -> McpEndpoint:
    """Switch the MCP server on (same URL as before if it existed); the app must be published."""
    if app.published_version_id is None:
        raise Conflict("publish the app before enabling its MCP server")
    endpoint = get_or_create_endpoint(session=session, settings=settings, app=app)
    endpoint.enabled = True
    return crud.save_endpoint(session=session, endpoint=endpoint)


def cancel_in_flight(session: Session, settings: Settings, run_ids: list[str], why: str) -> None:
    """Cancel runs still queued or running (calls and tasks): their workers stop, waiting callers are told why."""
    for run_id in run_ids:
        cancel_run(session=session, settings=settings, run_id=run_id, reason=why)


def disable_endpoint(*, session: Session, settings: Settings, app: App) -> McpEndpoint:
    """Switch the MCP server off; its URL answers 404 until enabled again and the runs it started are cancelled."""
    endpoint = get_or_create_endpoint(session=session, settings=settings, app=app)
    endpoint.enabled = False
    endpoint = crud.save_endpoint(session=session, endpoint=endpoint)
    started = crud.in_flight_run_ids(session=session, endpoint_id=endpoint.id)
    cancel_in_flight(session, settings, started, "the app's MCP server was switched off")
    return endpoint


def regenerate_endpoint(*, session: Session, settings: Settings, app: App) -> McpEndpoint:
    """Give the endpoint a new secret; the old URL stops working at once and the runs it started are cancelled."""
    endpoint = get_or_create_endpoint(session=session, settings=settings, app=app)
    endpoint.nonce, endpoint.secret_hash = _fresh_material(settings)
    endpoint.rotated_at = utcnow()
    endpoint = crud.save_endpoint(session=session, endpoint=endpoint)
    # calls that came in through tokens or OAuth go on: a regenerate does not touch those ways in
    started = crud.in_flight_run_ids(session=session, endpoint_id=endpoint.id, url_only=True)
    cancel_in_flight(session, settings, started, "the MCP URL it was called through was regenerated")
    return endpoint


@dataclass(frozen=True)
class EndpointTarget:
    """What a valid URL secret leads to."""

    endpoint: McpEndpoint
    app: App
    version: AppVersion


def resolve_secret(*, db: statements.Scope, settings: Settings, secret: str) -> EndpointTarget | None:
    """The enabled endpoint, app and live version behind a URL secret, or None (unknown, off or rotated)."""
    if not 16 <= len(secret) <= 128:
        return None
    # One indexed query per request, no cache: a regenerate or disable on any API process is seen by
    # every process at its very next request.
    row = crud.get_live_endpoint_by_hash(db=db, secret_hash=security.lookup_hash(secret))
    if row is None:
        return None
    endpoint, app, version = row
    if not security.same_secret(_secret_of(settings, endpoint), secret):
        return None
    # parsed now, unless already cached: later readers of this request find it in the cache
    version_spec(version, lambda: crud.get_version_document(session=statements.orm(db), version_id=version.id))
    return EndpointTarget(endpoint=endpoint, app=app, version=version)
