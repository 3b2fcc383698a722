"""Run rows."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.models import App, Run, RunStatus


def create_run(*, session: Session, run: Run) -> Run:
    """Insert a run."""
    session.add(run)
    session.commit()
    session.refresh(run)
    return run


def get_run(*, session: Session, run_id: str, owner_id: int | None = None) -> Run | None:
    """A run by id, optionally only if its app belongs to `owner_id`."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    if owner_id is not None:
        app = session.get(App, run.app_id)
        if app is None or app.owner_id != owner_id:
            return None
    return run


def list_runs(
    *,
    session: Session,
    owner_id: int | None = None,
    app_id: int | None = None,
    status: str | None = None,
    skip: int = 0,
    limit: int = 50,
) -> tuple[list[Run], int]:
    """A page of runs, newest first, and the total count."""
    query = select(Run)
    count_query = select(func.count()).select_from(Run)
    if owner_id is not None:
        query = query.join(App, col(App.id) == col(Run.app_id)).where(App.owner_id == owner_id)
        count_query = count_query.join(App, col(App.id) == col(Run.app_id)).where(App.owner_id == owner_id)
    if app_id is not None:
        query = query.where(Run.app_id == app_id)
        count_query = count_query.where(Run.app_id == app_id)
    if status is not None:
        query = query.where(Run.status == status)
        count_query = count_query.where(Run.status == status)
    rows = session.exec(query.order_by(col(Run.created_at).desc()).offset(skip).limit(limit)).all()
    return list(rows), int(session.exec(count_query).one())


def save_run(*, session: Session, run: Run) -> Run:
    """Persist changes to a run."""
    session.add(run)
    session.commit()
    session.refresh(run)
    return run


def in_flight_run_ids(*, session: Session, endpoint_id: int) -> list[str]:
    """Ids of the runs started through an endpoint that are still queued or running."""
    query = select(Run.id).where(Run.endpoint_id == endpoint_id, col(Run.status).in_([RunStatus.queued, RunStatus.running]))
    return list(session.exec(query).all())
