"""Run rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from backend.models import App, Run, RunStatus


def create_run(*, session: Session, run: Run) -> Run:
    """Insert a run (every column is set in Python, so nothing needs reading back)."""
    session.add(run)
    session.commit()
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


def get_run_status(*, session: Session, run_id: str) -> RunStatus | None:
    """Only the status of a run (one column, no row object), or None if it does not exist."""
    status = session.exec(select(Run.status).where(Run.id == run_id)).first()
    return None if status is None else RunStatus(status)


def get_run_statuses(*, session: Session, run_ids: Sequence[str]) -> dict[str, RunStatus]:
    """The statuses of many runs in one query; ids that do not exist are absent from the result."""
    rows = session.exec(select(Run.id, Run.status).where(col(Run.id).in_(list(run_ids)))).all()
    return {run_id: RunStatus(status) for run_id, status in rows}


def update_run_progress(
    *, session: Session, run_id: str, progress_done: int, progress_total: int, progress_message: str | None
) -> None:
    """Record the progress of a running run in one UPDATE; a run that is no longer running is left alone."""
    session.exec(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.status) == RunStatus.running.value)
        .values(progress_done=progress_done, progress_total=progress_total, progress_message=progress_message)
    )
    session.commit()


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
    """Persist changes to a run (sessions keep attributes on commit, so the object stays current)."""
    session.add(run)
    session.commit()
    return run
