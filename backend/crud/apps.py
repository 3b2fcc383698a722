"""App and app-version rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlmodel import Session, col, delete, select, update

from backend.models import AccessToken, App, AppVersion, McpEndpoint, OAuthGrant, Run, RunFile, ToolkitApp, utcnow


def create_app(*, session: Session, owner_id: int, name: str, spec: dict[str, Any]) -> App:
    """Insert an app with its draft spec."""
    app = App(owner_id=owner_id, name=name, spec=spec)
    session.add(app)
    session.commit()
    session.refresh(app)
    return app


def get_app(*, session: Session, app_id: int, owner_id: int | None = None) -> App | None:
    """An app by id, optionally only if `owner_id` owns it."""
    app = session.get(App, app_id)
    if app is None or (owner_id is not None and app.owner_id != owner_id):
        return None
    return app


def get_app_by_name(*, session: Session, name: str, owner_id: int | None = None, any_case: bool = False) -> list[App]:
    """Apps with exactly this name (one per owner at most), or with it in any letter case."""
    query = select(App).where(func.lower(App.name) == name.lower() if any_case else App.name == name)
    if owner_id is not None:
        query = query.where(App.owner_id == owner_id)
    return list(session.exec(query).all())


def list_apps(*, session: Session, owner_id: int | None = None, skip: int = 0, limit: int = 100) -> tuple[list[App], int]:
    """A page of apps and the total count."""
    query = select(App)
    count_query = select(func.count()).select_from(App)
    if owner_id is not None:
        query = query.where(App.owner_id == owner_id)
        count_query = count_query.where(App.owner_id == owner_id)
    rows = session.exec(query.order_by(col(App.id)).offset(skip).limit(limit)).all()
    return list(rows), int(session.exec(count_query).one())


def update_app_spec(*, session: Session, app: App, name: str, spec: dict[str, Any]) -> App:
    """Replace the draft."""
    app.name = name
    app.spec = spec
    app.updated_at = utcnow()
    session.add(app)
    session.commit()
    session.refresh(app)
    return app


def create_version(*, session: Session, app: App) -> AppVersion:
    """Snapshot the draft as the next version number and mark it published."""
    last = session.exec(select(func.max(AppVersion.number)).where(AppVersion.app_id == app.id)).one()
    version = AppVersion(app_id=app.id, number=(last or 0) + 1, spec=app.spec)
    session.add(version)
    session.flush()
    app.published_version_id = version.id
    app.updated_at = utcnow()
    session.add(app)
    session.commit()
    session.refresh(version)
    session.refresh(app)
    return version


def get_version(*, session: Session, version_id: int) -> AppVersion | None:
    """A version by id."""
    return session.get(AppVersion, version_id)


class VersionRef(NamedTuple):
    """A version's identity without its row: what the per-process caches of parsed specs are keyed by."""

    id: int
    created_at: datetime


class RunApp(NamedTuple):
    """What a worker reads of a run's app and version (crud.get_queued_run); `version` None: no such version."""

    owner_id: int
    name: str
    version: VersionRef | None


_APP, _VERSION = App.__table__, AppVersion.__table__  # type: ignore[attr-defined]


def get_version_document(*, session: Session, version_id: int) -> Any:
    """The stored spec document of a version; None if it is gone."""
    return session.connection().execute(select(_VERSION.c.spec).where(_VERSION.c.id == version_id)).scalar()


def get_draft_document(*, session: Session, app_id: int) -> Any:
    """The stored draft spec document of an app; None if it is gone."""
    return session.connection().execute(select(_APP.c.spec).where(_APP.c.id == app_id)).scalar()


def list_versions(*, session: Session, app_id: int) -> list[AppVersion]:
    """All versions of an app, newest first."""
    return list(session.exec(select(AppVersion).where(AppVersion.app_id == app_id).order_by(col(AppVersion.number).desc())).all())


def delete_app(*, session: Session, app: App) -> None:
    """Delete an app with its versions, endpoint, tokens, toolkit places and runs."""
    session.exec(delete(RunFile).where(col(RunFile.run_id).in_(select(Run.id).where(Run.app_id == app.id))))
    session.exec(delete(Run).where(col(Run.app_id) == app.id))
    endpoint_ids = select(McpEndpoint.id).where(McpEndpoint.app_id == app.id)
    token_ids = select(AccessToken.id).where(col(AccessToken.endpoint_id).in_(endpoint_ids))
    session.exec(update(Run).where(col(Run.token_id).in_(token_ids)).values(token_id=None))  # type: ignore[call-overload]
    session.exec(delete(AccessToken).where(col(AccessToken.endpoint_id).in_(endpoint_ids)))
    session.exec(delete(OAuthGrant).where(col(OAuthGrant.endpoint_id).in_(endpoint_ids)))
    session.exec(delete(ToolkitApp).where(col(ToolkitApp.app_id) == app.id))
    session.exec(delete(McpEndpoint).where(col(McpEndpoint.app_id) == app.id))
    session.exec(delete(AppVersion).where(col(AppVersion.app_id) == app.id))
    session.delete(app)
    session.commit()
